import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Topic } from '#contracts';
import { RedisConnection } from '#redis';
import { closeAllClients, connectAs, recordEvents } from './support/clients.js';
import { startTwoInstances } from './support/cluster.js';
import { usePostgresDatabase } from './support/database.js';
import { eventually, type TestGateway } from './support/gateway.js';
import { closeAllPlain, connectPlain, wsUrl } from './support/plain-ws.js';
import { libraryClient, plainWsClient, range, rawSocketIoClient, type RecoveringClient } from './support/recovery.js';
import { TcpProxy } from './support/tcp-proxy.js';

const yieldToIo = () => new Promise((resolve) => setImmediate(resolve));
const portOf = (gateway: TestGateway) => Number(new URL(gateway.url).port);

describe('recovery across two instances on Redis: the client comes back on the other one', () => {
  const databaseUrl = usePostgresDatabase();
  let env: Record<string, string>;
  let one: TestGateway;
  let two: TestGateway;
  let proxy: TcpProxy;
  const clients: RecoveringClient[] = [];

  beforeAll(async () => {
    ({ env, one, two } = await startTwoInstances('recovery', { DATABASE_URL: databaseUrl(), WS_RATE_LIMIT: '100000' }));
    proxy = await TcpProxy.start(portOf(one));
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    closeAllClients();
    closeAllPlain();
  });
  afterAll(async () => {
    await proxy.close();
    await one.close();
    await two.close();
  });

  it('gives every client every event missed during the cut, exactly once and in order, from the other instance', async () => {
    proxy.retarget(portOf(one));
    const via = `http://${proxy.url}`;
    const topic = 'sensor:cluster-recover-1';
    const raw = rawSocketIoClient(via, one.token('crec-raw'), topic);
    const lib = libraryClient(via, one.token('crec-lib'), topic);
    const plain = plainWsClient(() => wsUrl(via, '/ws', `token=${one.token('crec-ws')}`), topic);
    clients.push(raw, lib, plain);
    await Promise.all([raw.subscribed, lib.subscribed, plain.subscribed]);

    // Published on instance two: the clients (on one) get the first half through the stream feed.
    for (let i = 0; i < 200; i++) {
      if (i === 100) {
        proxy.drop();
        proxy.retarget(portOf(two));
      }
      two.websocket.emitSystemEvent('info', 'tick', { i }, topic as Topic);
      two.websocket.emitToUsers(['crec-raw', 'crec-lib'], 'rank:updated', { oldRank: i, newRank: i });
      if (i % 10 === 9) await yieldToIo();
    }
    proxy.restore();

    const all = range(200);
    await eventually(async () => {
      for (const c of [raw, lib, plain]) expect(c.received.get(topic)).toEqual(all);
      expect(raw.received.get('user:crec-raw')).toEqual(all);
      expect(lib.received.get('user:crec-lib')).toEqual(all);
    });
    for (const c of [raw, lib, plain]) {
      expect(c.connections).toBeGreaterThanOrEqual(2);
      expect(c.failures).toEqual([]);
    }
    // The resumed sockets live on instance two now.
    await eventually(async () => expect(two.websocket.localSocketCount()).toBe(2));
    expect(one.websocket.localSocketCount()).toBe(0);
  });

  it('has the same positions on both instances, and replay: 1 on sensor:<id> serves the latest reading from either', async () => {
    const reading = (value: number) => ({ sensorId: 'creplay-1', metric: 'temp', value, ts: Date.now() });
    for (const value of [1, 2, 3]) one.websocket.emitToTopic(['readings', 'sensor:creplay-1'], 'reading:new', reading(value));
    for (const gateway of [one, two]) {
      const socket = await connectAs(gateway.url, gateway.token('creplayer'));
      const log = recordEvents(socket);
      await eventually(async () =>
        expect(await socket.emitWithAck('subscribe', { topic: 'sensor:creplay-1', replay: 1 })).toMatchObject({ ok: true, offset: 3, recovered: false }),
      );
      await log.until((events) => events.some((e) => e.event === 'reading:new'));
      expect(
        log
          .filter((e) => e.event === 'reading:new')
          .map((e) => (e.payload as any).value)
          .at(-1),
      ).toBe(3);
    }
  });

  it('tells subscribers stream:reset (Socket.IO) and a reset frame (/ws) when a stream loses its history (Redis flushed)', async () => {
    const topic = 'sensor:creset-1';
    const socket = await connectAs(one.url, one.token('resetter'));
    await socket.emitWithAck('subscribe', { topic });
    const plain = await connectPlain(wsUrl(two.url, '/ws', `token=${two.token('resetter-ws')}&topics=${topic}`));
    const log = recordEvents(socket);
    one.websocket.emitSystemEvent('info', 'before', { i: 0 }, topic as Topic);
    await log.until((events) => events.some((e) => e.event === 'system:event'));
    // The stream's keys are gone (flushed, evicted): the next publication starts a new epoch.
    const redis = await RedisConnection.connect({ url: env['REDIS_URL']!, keyPrefix: env['REDIS_KEY_PREFIX']! });
    try {
      await redis.client.del([redis.key('streams', 'm', topic), redis.key('streams', 'h', topic)]);
    } finally {
      await redis.close();
    }
    const resetFrame = plain.next((m) => m.type === 'reset');
    one.websocket.emitSystemEvent('info', 'after', { i: 1 }, topic as Topic);
    await log.until((events) => events.some((e) => e.event === 'stream:reset'));
    expect(log.find((e) => e.event === 'stream:reset')!.payload).toEqual({ streams: [topic] });
    expect(await resetFrame).toEqual({ type: 'reset', streams: [topic] });
  });
});
