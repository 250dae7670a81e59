import { describe, expect, it } from '@jest/globals';
import { Server } from 'socket.io';
import type { GatewayServer, GatewaySocket } from '../gateway/socket.types.js';
import { StreamPublication } from '../streams/stream-history.js';
import { ReadingBatcher } from './reading-batcher.js';

/** Sockets reduced to what the batcher uses, on the real in-memory adapter of a real (unbound) server. */
function setup() {
  const server = new Server() as unknown as GatewayServer;
  const adapter = server.of('/').adapter;
  const batcher = new ReadingBatcher();
  batcher.attach(server);
  const socket = (id: string) =>
    ({
      id,
      get rooms() {
        return adapter.socketRooms(id) ?? new Set<string>();
      },
      join: (rooms: string | string[]) => adapter.addAll(id, new Set(typeof rooms === 'string' ? [rooms] : rooms)),
      leave: (room: string) => adapter.del(id, room),
      disconnect: () => adapter.delAll(id),
    }) as unknown as GatewaySocket & { disconnect(): void };
  return { batcher, socket };
}

describe('ReadingBatcher', () => {
  it('frees a group when its last socket unsubscribes, not before', async () => {
    const { batcher, socket } = setup();
    const [a, b] = [socket('a'), socket('b')];
    await batcher.join(a, 'readings', 50);
    await batcher.join(b, 'readings', 50);
    await batcher.join(b, 'sensor:x', 100);
    expect(batcher.groupCount).toBe(2);
    await batcher.leave(a, 'readings');
    expect(batcher.groupCount).toBe(2);
    await batcher.leave(b, 'readings');
    expect(batcher.groupCount).toBe(1);
    await batcher.leave(b, 'sensor:x');
    expect(batcher.groupCount).toBe(0);
  });

  it('frees the groups of a socket that disconnects', async () => {
    const { batcher, socket } = setup();
    const a = socket('a');
    await batcher.join(a, 'readings', 50);
    await batcher.join(a, 'anomalies', 200);
    batcher.offer(StreamPublication.fromValue('reading:new', { sensorId: 's', metric: 'm', value: 1, ts: 1 } as never, 1, { readings: 1 }, { readings: 'e' }));
    a.disconnect();
    expect(batcher.groupCount).toBe(0);
  });

  it('holds no group after many subscribe/unsubscribe pairs', async () => {
    const { batcher, socket } = setup();
    const a = socket('a');
    for (let i = 0; i < 10_000; i++) {
      await batcher.join(a, `sensor:s-${i}`, 1 + (i % 1000));
      await batcher.leave(a, `sensor:s-${i}`);
    }
    expect(batcher.groupCount).toBe(0);
  });

  it('creates no group for a socket that is gone before it joins', async () => {
    const { batcher, socket } = setup();
    const gone = Object.assign(socket('gone'), { join: async () => undefined });
    await batcher.join(gone, 'readings', 50);
    expect(batcher.groupCount).toBe(0);
  });
});
