import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Topic } from '#contracts';
import { client, closeAllClients, connectAs, recordEvents } from './support/clients.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { closeAllPlain, connectPlain, wsUrl } from './support/plain-ws.js';
import { libraryClient, plainWsClient, range, rawSocketIoClient, type RecoveringClient } from './support/recovery.js';
import { TcpProxy } from './support/tcp-proxy.js';

const yieldToIo = () => new Promise((resolve) => setImmediate(resolve));

/** Publishes `count` events to `topic` and `count` to the users' rooms (one publication to all of them), cutting the proxy halfway. */
async function publishWhileCut(gateway: TestGateway, proxy: TcpProxy, topic: string, userIds: string[], count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (i === count / 2) proxy.drop();
    gateway.websocket.emitSystemEvent('info', 'tick', { i }, topic as Topic);
    if (userIds.length > 0) gateway.websocket.emitToUsers(userIds, 'rank:updated', { oldRank: i, newRank: i });
    if (i % 10 === 9) await yieldToIo();
  }
}

describe('recovery across a cut connection (one instance, in-memory history)', () => {
  let gateway: TestGateway;
  let proxy: TcpProxy;
  const clients: RecoveringClient[] = [];

  beforeAll(async () => {
    gateway = await startGateway({ WS_RATE_LIMIT: '100000' });
    proxy = await TcpProxy.start(Number(new URL(gateway.url).port));
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    closeAllClients();
    closeAllPlain();
  });
  afterAll(async () => {
    await proxy.close();
    await gateway.close();
  });

  it('gives every client every event missed during a cut, exactly once and in order, on topics and user rooms', async () => {
    const via = `http://${proxy.url}`;
    const topic = 'sensor:recover-1';
    const raw = rawSocketIoClient(via, gateway.token('rec-raw'), topic);
    const lib = libraryClient(via, gateway.token('rec-lib'), topic);
    const plain = plainWsClient(() => wsUrl(via, '/ws', `token=${gateway.token('rec-ws')}`), topic);
    clients.push(raw, lib, plain);
    await Promise.all([raw.subscribed, lib.subscribed, plain.subscribed]);

    await publishWhileCut(gateway, proxy, topic, ['rec-raw', 'rec-lib'], 200);
    proxy.restore();

    const all = range(200);
    await eventually(async () => {
      for (const c of [raw, lib, plain]) expect(c.received.get(topic)).toEqual(all);
      expect(raw.received.get('user:rec-raw')).toEqual(all);
      expect(lib.received.get('user:rec-lib')).toEqual(all);
    });
    // They did reconnect (the cut was real), and every resume recovered.
    for (const c of [raw, lib, plain]) {
      expect(c.connections).toBeGreaterThanOrEqual(2);
      expect(c.failures).toEqual([]);
    }
    expect(raw.acks.filter((a) => a.authenticated?.recovered === true)).toHaveLength(raw.connections - 1);
    expect(raw.acks.filter((a) => a.ok && a.recovered === true)).toHaveLength(raw.connections - 1);
    expect(plain.acks.filter((a) => a.recovered === true)).toHaveLength(plain.connections - 1);
  });

  it('sends the subscribe ack before the replayed events, with the position they end at', async () => {
    const socket = await connectAs(gateway.url, gateway.token('ack-first'));
    const topic = 'sensor:ack-first';
    const first = await socket.emitWithAck('subscribe', { topic });
    for (let i = 0; i < 5; i++) gateway.websocket.emitSystemEvent('info', 'x', { i }, topic as Topic);
    const again = client(gateway.url, { auth: { token: gateway.token('ack-first-2') } });
    const order: string[] = [];
    again.on('system:event', (payload: any) => order.push(`event ${payload.data.i}`));
    again.connect();
    await new Promise((resolve) => again.once('authenticated', resolve));
    const ack = await new Promise<any>((resolve) =>
      again.emit('subscribe', { topic, since: { epoch: (first as any).epoch, offset: 2 } }, (reply) => {
        order.push('ack');
        resolve(reply);
      }),
    );
    expect(ack).toEqual({ ok: true, topic, epoch: (first as any).epoch, offset: 5, recovered: true });
    await eventually(async () => expect(order).toEqual(['ack', 'event 2', 'event 3', 'event 4']));
  });

  it('replay: 1 on sensor:<id> delivers the latest reading at once (Socket.IO and /ws), with meta naming only the streams held', async () => {
    const reading = (value: number) => ({ sensorId: 'replay-1', metric: 'temp', value, ts: Date.now() });
    for (const value of [1, 2, 3]) gateway.websocket.emitToTopic(['readings', 'sensor:replay-1'], 'reading:new', reading(value));
    const socket = await connectAs(gateway.url, gateway.token('replayer'));
    const log = recordEvents(socket);
    const metas: any[] = [];
    socket.on('reading:new', (_payload, meta) => metas.push(meta));
    const ack: any = await socket.emitWithAck('subscribe', { topic: 'sensor:replay-1', replay: 1 });
    expect(ack).toMatchObject({ ok: true, topic: 'sensor:replay-1', offset: 3, recovered: false });
    await log.until((events) => events.some((e) => e.event === 'reading:new'));
    expect(log.filter((e) => e.event === 'reading:new').map((e) => (e.payload as any).value)).toEqual([3]);
    expect(metas[0]).toEqual({ positions: { 'sensor:replay-1': 3 }, epoch: { 'sensor:replay-1': ack.epoch } });

    const plain = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('replayer-ws')}`));
    const plainAck = plain.next((m) => m.type === 'ack');
    const plainReading = plain.next((m) => m.event === 'reading:new');
    plain.send({ type: 'sub', topic: 'sensor:replay-1', replay: 1 });
    expect(await plainAck).toEqual({ type: 'ack', op: 'sub', topic: 'sensor:replay-1', epoch: ack.epoch, offset: 3, recovered: false });
    expect(await plainReading).toMatchObject({ topic: 'sensor:replay-1', payload: { value: 3 }, positions: { 'sensor:replay-1': 3 } });
    // The ack frame came first.
    expect(plain.messages.findIndex((m) => m.type === 'ack')).toBeLessThan(plain.messages.findIndex((m) => m.event === 'reading:new'));
  });

  it('answers a since the stream cannot serve with recovered: false, not an error; a structurally invalid one is refused', async () => {
    const socket = await connectAs(gateway.url, gateway.token('odd-since'));
    const topic = 'sensor:odd-since';
    gateway.websocket.emitSystemEvent('info', 'x', { i: 0 }, topic as Topic);
    const log = recordEvents(socket);
    const current: any = await socket.emitWithAck('subscribe', { topic: 'sensor:odd-probe' });
    for (const since of [
      { epoch: 'not-this-one', offset: 0 },
      { epoch: current.epoch, offset: 99 },
    ]) {
      expect(await socket.emitWithAck('subscribe', { topic, since })).toEqual({ ok: true, topic, epoch: expect.any(String), offset: 1, recovered: false });
    }
    for (const since of [
      { epoch: '', offset: 1 },
      { epoch: 'x'.repeat(65), offset: 1 },
      { epoch: 'e', offset: -1 },
      { epoch: 'e', offset: 1.5 },
      'yesterday',
    ]) {
      expect(await socket.emitWithAck('subscribe', { topic, since } as never)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    }
    for (const replay of [0, 101, 2.5]) {
      expect(await socket.emitWithAck('subscribe', { topic, replay })).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    }
    // Nothing was replayed by any of them.
    expect(log.filter((e) => e.event === 'system:event')).toEqual([]);

    // The handshake's since: anything that is not a position resumes nothing, and the connection stands.
    const odd = client(gateway.url, { auth: { token: gateway.token('odd-auth'), since: { epoch: 5, offset: 'x' } } });
    const authenticated = new Promise<any>((resolve) => odd.once('authenticated', resolve));
    odd.connect();
    expect(await authenticated).toMatchObject({ success: true, userId: 'odd-auth', epoch: expect.any(String), offset: 0, recovered: false });

    const plain = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('odd-ws')}`));
    plain.send({ type: 'sub', topic, since: { epoch: 'not-this-one', offset: 0 } });
    expect(await plain.next((m) => m.type === 'ack')).toEqual({ type: 'ack', op: 'sub', topic, epoch: expect.any(String), offset: 1, recovered: false });
    plain.send({ type: 'sub', topic, since: { epoch: 'e', offset: -1 } });
    expect(await plain.next((m) => m.type === 'error')).toMatchObject({ code: 'VALIDATION_FAILED' });
    plain.send({ type: 'sub', topic, replay: 101 });
    expect(await plain.next((m) => m.type === 'error')).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('recovered: false when history cannot cover the gap', () => {
  afterEach(() => {
    closeAllClients();
    closeAllPlain();
  });

  it('after a history overflow (HISTORY_SIZE 10)', async () => {
    const gateway = await startGateway({ HISTORY_SIZE: '10' });
    try {
      const topic = 'sensor:overflow-1';
      const socket = await connectAs(gateway.url, gateway.token('overflow'));
      const start: any = await socket.emitWithAck('subscribe', { topic });
      for (let i = 0; i < 10; i++) gateway.websocket.emitSystemEvent('info', 'x', { i }, topic as Topic);
      const fresh = await connectAs(gateway.url, gateway.token('overflow-2'));
      // Ten missed: exactly what the history holds.
      expect(await fresh.emitWithAck('subscribe', { topic, since: { epoch: start.epoch, offset: 0 } })).toMatchObject({ recovered: true, offset: 10 });
      gateway.websocket.emitSystemEvent('info', 'x', { i: 10 }, topic as Topic);
      const late = await connectAs(gateway.url, gateway.token('overflow-3'));
      const log = recordEvents(late);
      expect(await late.emitWithAck('subscribe', { topic, since: { epoch: start.epoch, offset: 0 } })).toEqual({
        ok: true,
        topic,
        epoch: start.epoch,
        offset: 11,
        recovered: false,
      });
      const plain = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('overflow-ws')}`));
      plain.send({ type: 'sub', topic, since: { epoch: start.epoch, offset: 0 } });
      expect(await plain.next((m) => m.type === 'ack')).toMatchObject({ offset: 11, recovered: false });
      expect(log.filter((e) => e.event === 'system:event')).toEqual([]);
    } finally {
      await gateway.close();
    }
  });

  it('after an in-memory instance restart (a new epoch), on topics and the user room', async () => {
    const first = await startGateway();
    const topic = 'sensor:restart-1';
    let topicBefore: any;
    let userBefore: any;
    try {
      const socket = await connectAs(first.url, first.token('restarter'));
      topicBefore = await socket.emitWithAck('subscribe', { topic });
      first.websocket.emitSystemEvent('info', 'x', { i: 0 }, topic as Topic);
      first.websocket.emitToUser('restarter', 'rank:updated', { oldRank: 0, newRank: 0 });
      userBefore = await new Promise((resolve) => {
        const again = client(first.url, { auth: { token: first.token('restarter') } });
        again.once('authenticated', resolve);
        again.connect();
      });
    } finally {
      closeAllClients();
      await first.close();
    }
    const second = await startGateway();
    try {
      const resumed = client(second.url, { auth: { token: second.token('restarter'), since: { epoch: userBefore.epoch, offset: userBefore.offset } } });
      const authenticated = new Promise<any>((resolve) => resumed.once('authenticated', resolve));
      resumed.connect();
      const auth = await authenticated;
      expect(auth).toMatchObject({ recovered: false, offset: 0 });
      expect(auth.epoch).not.toBe(userBefore.epoch);
      const ack: any = await resumed.emitWithAck('subscribe', { topic, since: { epoch: topicBefore.epoch, offset: 1 } });
      expect(ack).toMatchObject({ ok: true, topic, offset: 0, recovered: false });
      expect(ack.epoch).not.toBe(topicBefore.epoch);
    } finally {
      await second.close();
    }
  });
});
