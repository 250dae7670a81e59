/**
 * The ceiling: a plain `ws` server with the same slice (token in the query, topics, MQTT fan-out,
 * one serialization per message). Env: PORT, MQTT_URL, JWT_SECRET, MQTT_TOPIC_PREFIX.
 */
import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import jwt from 'jsonwebtoken';
import mqtt from 'mqtt';
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.env['PORT'] ?? 4001);
const prefix = process.env['MQTT_TOPIC_PREFIX'] ?? '';
const key = createSecretKey(Buffer.from(process.env['JWT_SECRET'] ?? 'dev', 'utf8'));
const rooms = new Map<string, Set<WebSocket>>();

const http = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
http.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url ?? '/', 'http://peer');
  try {
    jwt.verify(url.searchParams.get('token') ?? '', key, { algorithms: ['HS256'] });
  } catch {
    return socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const topics = (url.searchParams.get('topics') ?? '').split(',').filter(Boolean);
    for (const topic of topics) {
      if (!rooms.has(topic)) rooms.set(topic, new Set());
      rooms.get(topic)!.add(ws);
    }
    ws.on('close', () => topics.forEach((topic) => rooms.get(topic)?.delete(ws)));
    ws.send(JSON.stringify({ type: 'connection', status: 'connected', topics }));
  });
});

const client = mqtt.connect(process.env['MQTT_URL'] ?? 'mqtt://127.0.0.1:1883', { protocolVersion: 4, clientId: `peer-ws-${process.pid}` });
client.on('connect', () => client.subscribe(`${prefix}sensors/+/+`, { qos: 1 }));
client.on('message', (topic, payload) => {
  const [, sensorId, metric] = topic.slice(prefix.length).split('/');
  const text = payload.toString();
  const body = text.startsWith('{') ? (JSON.parse(text) as { value: number; ts?: number }) : { value: Number(text) };
  const reading = { sensorId, metric, value: body.value, ts: body.ts ?? Date.now() };
  const seen = new Set<WebSocket>();
  for (const room of ['readings', `sensor:${sensorId}`]) {
    const members = rooms.get(room);
    if (!members) continue;
    const frame = JSON.stringify({ topic: room, event: 'reading:new', ts: Date.now(), payload: reading });
    for (const ws of members) {
      if (seen.has(ws)) continue;
      seen.add(ws);
      ws.send(frame);
    }
  }
});

http.listen(port, '127.0.0.1', () => console.log(`ws peer listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
