#!/usr/bin/env python3
"""The sensor module's example listener, ported literally: run it against the gateway unchanged.

    python3 sensor_listener.py ws://localhost:3000/api/v1/ws?channel=sensors
    python3 sensor_listener.py "ws://localhost:3000/api/v1/ws/secure?channel=sensors&token=$TOKEN"

Needs the `websockets` package (Debian: apt-get install python3-websockets).
"""
import asyncio
import json
import sys

import websockets


async def listen(uri):
    async with websockets.connect(uri) as websocket:
        async for message in websocket:
            data = json.loads(message)
            if data['type'] == 'connection':
                print(f"Connected to channel {data['channel']}", flush=True)
            elif data['type'] == 'entity_event':
                print(f"Entity event: {data['entity_type']} {data['event_type']} {data['entity_id']}", flush=True)
            elif data['type'] == 'system_event':
                print(f"System event: [{data['level']}] {data['message']}", flush=True)


if __name__ == '__main__':
    asyncio.run(listen(sys.argv[1] if len(sys.argv) > 1 else 'ws://localhost:8000/api/v1/ws?channel=sensors'))
