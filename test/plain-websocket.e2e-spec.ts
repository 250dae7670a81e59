import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { DEV_JWT_SECRET } from '../src/config/app-config.js';
import { PlainWebSocketGateway } from '#realtime';
import { closeAllClients, connectAs, nextEvent } from './support/clients.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, publish } from './support/mqtt.js';
import { closeAllPlain, connectPlain, refusedPlain, wsUrl } from './support/plain-ws.js';
import { signWith } from './support/tokens.js';

describe('plain WebSocket endpoint', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ WS_RATE_LIMIT: '10', WS_MAX_PAYLOAD: '2048', WEBSOCKET_PING_INTERVAL: '0.3', WEBSOCKET_PING_TIMEOUT: '0.3' });
  });
  afterEach(async () => {
    closeAllPlain();
    closeAllClients();
    await closeAllDevices();
  });
  afterAll(() => gateway.close());

  it.each([
    ['no token', '', 'TOKEN_MISSING'],
    ['a bad token', 'token=garbage', 'TOKEN_INVALID'],
    ['an expired token', `token=${signWith({ sub: 'late', exp: Math.floor(Date.now() / 1000) - 5 }, DEV_JWT_SECRET)}`, 'TOKEN_EXPIRED'],
  ])('answers %s with HTTP 401 before the upgrade', async (_case, query, code) => {
    expect(await refusedPlain(wsUrl(gateway.url, '/ws', query))).toEqual({ status: 401, body: { statusCode: 401, code, message: 'Unauthorized' } });
  });

  it('reads the token from the query, Authorization: Bearer, or Sec-WebSocket-Protocol (answering "bearer"), on /ws and /api/v1/ws', async () => {
    const fromQuery = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('q-user')}`));
    expect(fromQuery.messages[0]).toEqual({ type: 'connection', status: 'connected', userId: 'q-user', topics: [], timestamp: expect.any(String) });
    const fromHeader = await connectPlain(wsUrl(gateway.url, '/ws'), undefined, { headers: { Authorization: `Bearer ${gateway.token('h-user')}` } });
    expect(fromHeader.messages[0].userId).toBe('h-user');
    // /api/v1/ws speaks the sensor module's dialect (CONTRACT.md §14; test/sensor-dialect.e2e-spec.ts): its connection frame names channels, not the user.
    const alias = await connectPlain(wsUrl(gateway.url, '/api/v1/ws'), undefined, { headers: { Authorization: `Bearer ${gateway.token('h-user')}` } });
    expect(alias.messages[0]).toMatchObject({ type: 'connection', status: 'connected', channel: null });
    const fromProtocol = await connectPlain(wsUrl(gateway.url), ['bearer', gateway.token('p-user')]);
    expect(fromProtocol.messages[0].userId).toBe('p-user');
    expect(fromProtocol.ws.protocol).toBe('bearer');
  });

  it('subscribes at connect with ?topics= and ?channel=, and refuses a forbidden one with 403', async () => {
    const token = gateway.token('topical');
    const client = await connectPlain(wsUrl(gateway.url, '/ws', `token=${token}&topics=readings,sensor:a-1&channel=general`));
    expect(client.messages[0].topics).toEqual(['readings', 'sensor:a-1', 'general']);
    expect(await refusedPlain(wsUrl(gateway.url, '/ws', `token=${token}&topics=system`))).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await refusedPlain(wsUrl(gateway.url, '/ws', `token=${token}&topics=nope`))).toMatchObject({ status: 400, body: { code: 'UNKNOWN_TOPIC' } });
  });

  it('refuses a browser Origin outside CORS_ORIGIN with 403 and admits a listed one', async () => {
    const url = wsUrl(gateway.url, '/ws', `token=${gateway.token('browser')}`);
    expect(await refusedPlain(url, undefined, { headers: { Origin: 'https://evil.example' } })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect((await connectPlain(url, undefined, { headers: { Origin: 'http://localhost:5173' } })).messages[0].status).toBe('connected');
  });

  it('serializes an event once per publish, not once per subscriber', async () => {
    const subscribers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token(`fan-${i}`)}&topics=sensor:fan-1`))),
    );
    const arrivals = subscribers.map((client) => client.next((m) => m.event === 'rank:updated'));
    const stringify = jest.spyOn(JSON, 'stringify');
    try {
      gateway.websocket.emitToTopic(['sensor:fan-1', 'readings'], 'rank:updated', { oldRank: 2, newRank: 1 });
      // The payload is serialized once per publication; each group's frame embeds that text.
      const serializations = stringify.mock.calls.filter(([value]) => (value as { newRank?: number } | null)?.newRank === 1);
      expect(serializations).toHaveLength(1);
    } finally {
      stringify.mockRestore();
    }
    for (const arrival of arrivals) expect(await arrival).toMatchObject({ topic: 'sensor:fan-1', payload: { newRank: 1 } });
  });

  it('acks sub and unsub, answers ping, and refuses forbidden and unknown topics', async () => {
    const client = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('subber')}`));
    client.send({ type: 'sub', topic: 'anomalies' });
    expect(await client.next((m) => m.type === 'ack')).toEqual({
      type: 'ack',
      op: 'sub',
      topic: 'anomalies',
      epoch: expect.any(String),
      offset: expect.any(Number),
      recovered: false,
    });
    client.send({ type: 'unsub', topic: 'anomalies' });
    expect(await client.next((m) => m.type === 'ack')).toEqual({ type: 'ack', op: 'unsub', topic: 'anomalies' });
    client.send({ type: 'ping' });
    expect(await client.next((m) => m.type === 'pong')).toEqual({ type: 'pong', ts: expect.any(Number) });
    client.send({ type: 'sub', topic: 'system' });
    expect(await client.next((m) => m.type === 'error')).toEqual({ type: 'error', code: 'FORBIDDEN', message: expect.any(String) });
    client.send({ type: 'sub', topic: 'user:someone' });
    expect(await client.next((m) => m.type === 'error')).toMatchObject({ code: 'FORBIDDEN' });
    client.send({ type: 'sub', topic: 'weather' });
    expect(await client.next((m) => m.type === 'error')).toMatchObject({ code: 'UNKNOWN_TOPIC' });
  });

  it('answers non-JSON, unknown types and binary frames with an error and keeps the socket', async () => {
    const client = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('confused')}`));
    for (const bad of ['not json', '{"type":"dance"}', '[1,2]', '{"type":"sub"}', '{"type":"sub","topic":5}']) {
      client.send(bad);
      expect(await client.next((m) => m.type === 'error')).toEqual({ type: 'error', code: 'VALIDATION_FAILED', message: expect.any(String) });
    }
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await client.next((m) => m.type === 'error')).toMatchObject({ code: 'VALIDATION_FAILED' });
    client.send({ type: 'ping' });
    expect(await client.next((m) => m.type === 'pong')).toMatchObject({ type: 'pong' });
  });

  it('delivers the same reading as a Socket.IO client gets, once, with the event envelope', async () => {
    const token = gateway.token('both');
    const plain = await connectPlain(wsUrl(gateway.url, '/ws', `token=${token}&topics=readings,sensor:twin-1`));
    const io = await connectAs(gateway.url, token);
    await io.emitWithAck('subscribe', { topic: 'readings' });
    const viaIo = nextEvent(io, 'reading:new');
    const viaPlain = plain.next((m) => m.event === 'reading:new');

    const sensor = await device(gateway.mqttUrl);
    await publish(sensor, 'sensors/twin-1/temp', '19.25');
    const ioReading = await viaIo;
    expect(await viaPlain).toEqual({
      topic: 'readings',
      event: 'reading:new',
      ts: expect.any(Number),
      payload: ioReading,
      positions: { readings: expect.any(Number), 'sensor:twin-1': expect.any(Number) },
      epoch: { readings: expect.any(String), 'sensor:twin-1': expect.any(String) },
    });
    plain.send({ type: 'ping' });
    await plain.next((m) => m.type === 'pong');
    expect(plain.messages.filter((m) => m.event === 'reading:new')).toHaveLength(1);

    // The user's own room reaches plain clients too.
    const note = plain.next((m) => m.event === 'xp:gained');
    gateway.websocket.emitXpGained('both', { amount: 1, source: 'test', totalXp: 1 });
    expect(await note).toMatchObject({ topic: 'user:both', payload: { amount: 1 } });
  });

  it('sends error TOKEN_EXPIRED and closes with 4401 when exp passes', async () => {
    const client = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('short-lived', {}, 2)}`));
    expect(await client.next((m) => m.type === 'error')).toEqual({ type: 'error', code: 'TOKEN_EXPIRED', message: expect.any(String) });
    expect(await client.closed).toEqual({ code: 4401, reason: 'Token expired' });
  });

  it('closes the connection of an oversized frame with 1009 and stays healthy', async () => {
    const client = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('big')}`));
    client.send({ type: 'sub', topic: 'x'.repeat(5000) });
    expect((await client.closed).code).toBe(1009);
    expect((await api(gateway.url, 'GET', '/health')).status).toBe(200);
    expect((await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('big')}`))).messages[0].status).toBe('connected');
  });

  it('refuses a flood with RATE_LIMITED, then disconnects it, and frees what it held', async () => {
    const hub = gateway.app.get(PlainWebSocketGateway);
    const client = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('flood')}&topics=sensor:flood-1`));
    for (let i = 0; i < 200; i++) client.send({ type: 'ping' });
    expect((await client.closed).code).toBe(1008);
    expect(client.messages.filter((m) => m.type === 'pong').length).toBeGreaterThanOrEqual(20);
    expect(client.messages.some((m) => m.type === 'error' && m.code === 'RATE_LIMITED')).toBe(true);
    await eventually(async () => expect(hub.topicSubscribers().get('sensor:flood-1')).toBeUndefined());
  });

  it('terminates a peer that stops answering pings and frees its subscriptions', async () => {
    const hub = gateway.app.get(PlainWebSocketGateway);
    const silent = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('silent')}&topics=sensor:quiet-1`), undefined, { autoPong: false });
    expect(hub.topicSubscribers().get('sensor:quiet-1')).toBe(1);
    expect((await silent.closed).code).toBe(1006);
    expect(hub.topicSubscribers().get('sensor:quiet-1')).toBeUndefined();
    // A peer that answers stays.
    const lively = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('lively')}`));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(lively.ws.readyState).toBe(lively.ws.OPEN);
  });
});

describe('plain WebSocket backpressure', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ WS_MAX_BUFFERED_BYTES: '65536' });
  });
  afterEach(() => closeAllPlain());
  afterAll(() => gateway.close());

  it('drops a subscriber that does not read with 1013, while the others keep receiving', async () => {
    const hub = gateway.app.get(PlainWebSocketGateway);
    const slow = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('slow')}&topics=general`));
    const fast = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('fast')}&topics=general`));
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    // Yield after every event so that the reading client (in this same process) keeps up.
    const big = 'x'.repeat(4 * 1024);
    let sent = 0;
    while (hub.connectionCount === 2 && sent < 50_000) {
      gateway.websocket.emitSystemEvent('info', big, { n: sent++ }, 'general');
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(hub.connectionCount).toBe(1);
    gateway.websocket.emitSystemEvent('info', 'after', { n: 'last' }, 'general');
    expect(await fast.next((m) => m.payload?.message === 'after')).toMatchObject({ event: 'system:event', topic: 'general' });
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await slow.closed).code).toBe(1013);
  });
});
