import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReadingPayload } from '#contracts';
import { closeAllClients, connectAs, countOf, joinedAck, nextEvent, recordEvents } from './support/clients.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';

const reading = (i: number, sensorId = 'batch-1'): ReadingPayload => ({ sensorId, metric: 'rate', value: i, ts: 1_790_000_000_000 + i });

describe('subscribe with batchMs: reading:batch', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  it('delivers a burst of reading:new as one reading:batch, in order, and the next burst as the next batch', async () => {
    const socket = await connectAs(gateway.url, gateway.token('batcher'));
    expect(await socket.emitWithAck('subscribe', { topic: 'readings', batchMs: 50 })).toEqual({
      ok: true,
      topic: 'readings',
      batchMs: 50,
      epoch: expect.any(String),
      offset: expect.any(Number),
      recovered: false,
    });
    const log = recordEvents(socket);
    for (let i = 0; i < 20; i++) gateway.websocket.emitToTopic(['readings', 'sensor:batch-1'], 'reading:new', reading(i));
    await log.until(countOf('reading:batch'));
    for (let i = 20; i < 30; i++) gateway.websocket.emitToTopic(['readings', 'sensor:batch-1'], 'reading:new', reading(i));
    await log.until(countOf('reading:batch', 2));
    expect(log.map((e) => e.event)).toEqual(['reading:batch', 'reading:batch']);
    expect(log[0]!.payload).toEqual({ readings: Array.from({ length: 20 }, (_, i) => reading(i)) });
    expect(log[1]!.payload).toEqual({ readings: Array.from({ length: 10 }, (_, i) => reading(20 + i)) });
  });

  it('leaves other events and other topics alone, and switches back to reading:new on a plain subscribe', async () => {
    const socket = await connectAs(gateway.url, gateway.token('switcher'));
    await socket.emitWithAck('subscribe', { topic: 'sensor:batch-2', batchMs: 20 });
    const log = recordEvents(socket);
    gateway.websocket.emitToTopic(['readings', 'sensor:batch-2'], 'reading:new', reading(1, 'batch-2'));
    gateway.websocket.emitSystemEvent('info', 'not batched', undefined, 'sensor:batch-2');
    await log.until(countOf('reading:batch'));
    expect(log.map((e) => e.event)).toEqual(['system:event', 'reading:batch']);

    expect(await socket.emitWithAck('subscribe', { topic: 'sensor:batch-2' })).toEqual(joinedAck('sensor:batch-2'));
    const single = nextEvent(socket, 'reading:new');
    gateway.websocket.emitToTopic(['readings', 'sensor:batch-2'], 'reading:new', reading(2, 'batch-2'));
    expect(await single).toEqual(reading(2, 'batch-2'));

    await socket.emitWithAck('subscribe', { topic: 'sensor:batch-2', batchMs: 20 });
    expect(await socket.emitWithAck('unsubscribe', { topic: 'sensor:batch-2' })).toEqual({ ok: true, topic: 'sensor:batch-2' });
    log.length = 0;
    gateway.websocket.emitToTopic(['readings', 'sensor:batch-2'], 'reading:new', reading(3, 'batch-2'));
    await new Promise((resolve) => setTimeout(resolve, 60));
    gateway.websocket.emitToUser('switcher', 'rank:updated', { oldRank: 1, newRank: 1 });
    await log.until(countOf('rank:updated'));
    expect(log.map((e) => e.event)).toEqual(['rank:updated']);
  });

  it('refuses a batchMs outside 1-1000 and counts batched subscribers in stats', async () => {
    const socket = await connectAs(gateway.url, gateway.token('picky'));
    for (const batchMs of [0, 1001, 2.5, '50']) {
      expect(await socket.emitWithAck('subscribe', { topic: 'readings', batchMs: batchMs as number })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED' },
      });
    }
    await socket.emitWithAck('subscribe', { topic: 'sensor:batch-3', batchMs: 100 });
    const stats = await api(gateway.url, 'GET', '/ws/stats/sensor:batch-3', gateway.token('root', { role: 'admin' }));
    expect(stats.body).toEqual({ topic: 'sensor:batch-3', subscribers: 1, connections: 1 });
  });
});
