import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { WebSocketServer } from 'ws';
import { MetricsService } from '#observability';
import { ConnectionLimiter, PlainWebSocketGateway } from '#realtime';
import { ReadingBatcher } from '../libs/realtime/src/batching/reading-batcher.js';
import { DEV_JWT_SECRET } from '../src/config/app-config.js';
import { client, closeAllClients, connectAs, connectError, disconnected, joinedAck, recordEvents } from './support/clients.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { closeAllPlain, connectPlain, refusedPlain, wsUrl } from './support/plain-ws.js';
import { openRawEngineIo, type RawEngineIo } from './support/raw-engine-io.js';
import { rawRequest, rawRequestThenReset, UPGRADE_HEADERS } from './support/raw-http.js';
import { signWith } from './support/tokens.js';

/** A counter's value for the labels given (0 when never incremented). */
async function count(counter: { get(): Promise<{ values: { labels: object; value: number }[] }> }, labels: Record<string, string>): Promise<number> {
  const { values } = await counter.get();
  return values.find((value) => Object.entries(labels).every(([name, expected]) => (value.labels as Record<string, unknown>)[name] === expected))?.value ?? 0;
}

const BAD_REQUEST_BODY = { statusCode: 400, code: 'BAD_REQUEST', message: 'Malformed request' };

/** A good client of each protocol still gets in. */
async function bothProtocolsServe(gateway: TestGateway, user: string): Promise<void> {
  const socket = await connectAs(gateway.url, gateway.token(user));
  expect(socket.connected).toBe(true);
  const plain = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token(user)}`));
  expect(plain.messages[0]).toMatchObject({ type: 'connection', status: 'connected', userId: user });
}

describe('upgrade requests no listener can read', () => {
  let gateway: TestGateway;
  let metrics: MetricsService;

  beforeAll(async () => {
    gateway = await startGateway();
    metrics = gateway.app.get(MetricsService);
  });
  afterEach(() => {
    closeAllClients();
    closeAllPlain();
    jest.restoreAllMocks();
  });
  afterAll(() => gateway.close());

  // Each of these made `new URL(request.url, base)` throw inside the 'upgrade' listener, which ended the process.
  it.each([
    ['the 60-byte request of the audit', 'GET //%zz HTTP/1.1', ['Connection: Upgrade', 'Upgrade: websocket']],
    ['the same with a full WebSocket handshake', 'GET //%zz HTTP/1.1', UPGRADE_HEADERS],
    ['a query after it', 'GET //%zz?token=x HTTP/1.1', UPGRADE_HEADERS],
    ['three slashes', 'GET ///%zz HTTP/1.1', UPGRADE_HEADERS],
    ['a NUL host', 'GET //%00/ws HTTP/1.1', UPGRADE_HEADERS],
    ['an unclosed IPv6 host', 'GET //[::1/ws HTTP/1.1', UPGRADE_HEADERS],
    ['a port out of range', 'GET //gateway:99999/ws HTTP/1.1', UPGRADE_HEADERS],
    ['POST', 'POST //%zz HTTP/1.1', ['Connection: Upgrade', 'Upgrade: websocket', 'Content-Length: 0']],
  ])('answers %s with 400 BAD_REQUEST and keeps running', async (_case, requestLine, headers) => {
    const before = await count(metrics.handshakeFailures, { protocol: 'ws', code: 'BAD_REQUEST' });
    const response = await rawRequest(gateway.url, requestLine, headers);
    expect(response.status).toBe(400);
    expect(response.body).toEqual(BAD_REQUEST_BODY);
    expect(await count(metrics.handshakeFailures, { protocol: 'ws', code: 'BAD_REQUEST' })).toBe(before + 1);
    await bothProtocolsServe(gateway, 'after-bad-target');
  });

  it('reads malformed percent-encoding in a /ws query as text', async () => {
    const response = await rawRequest(gateway.url, 'GET /ws?token=%zz&topics=%E0%A4%A HTTP/1.1');
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ statusCode: 401, code: 'TOKEN_INVALID', message: 'Unauthorized' });
  });

  it('leaves requests on the Socket.IO path to engine.io, which answers them', async () => {
    const response = await rawRequest(gateway.url, 'GET /socket.io/?EIO=4&transport=websocket&sid=%zz HTTP/1.1');
    expect(response.status).toBe(400);
    await bothProtocolsServe(gateway, 'after-engine-io');
  });

  it('survives clients that reset the connection right after the upgrade request', async () => {
    for (const requestLine of [
      'GET /ws?token=bad HTTP/1.1',
      'GET //%zz HTTP/1.1',
      `GET /ws?token=${gateway.token('reset')} HTTP/1.1`,
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1',
    ]) {
      for (let i = 0; i < 5; i++) await rawRequestThenReset(gateway.url, requestLine);
    }
    await bothProtocolsServe(gateway, 'after-resets');
    await eventually(async () => expect(gateway.app.get(ConnectionLimiter).size).toBe(2));
  });

  it('answers 400 and counts an exception thrown while handling a /ws upgrade, and keeps the slot free', async () => {
    const limiter = gateway.app.get(ConnectionLimiter);
    const before = await count(metrics.listenerErrors, { listener: 'ws' });
    jest.spyOn(limiter, 'tryAdmit').mockImplementationOnce(() => {
      throw new Error('boom');
    });
    expect(await refusedPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('unlucky')}`))).toEqual({ status: 400, body: BAD_REQUEST_BODY });
    expect(await count(metrics.listenerErrors, { listener: 'ws' })).toBe(before + 1);
    // (the previous test's clients close as this one starts)
    await eventually(async () => expect(limiter.size).toBe(0));
    await bothProtocolsServe(gateway, 'after-throw');
  });

  it('frees the slot of a /ws upgrade that throws after it was admitted', async () => {
    const limiter = gateway.app.get(ConnectionLimiter);
    const before = await count(metrics.listenerErrors, { listener: 'ws' });
    const server = (gateway.app.get(PlainWebSocketGateway) as unknown as { server: WebSocketServer }).server;
    jest.spyOn(server, 'handleUpgrade').mockImplementationOnce(() => {
      throw new Error('boom');
    });
    expect(await refusedPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('unlucky')}`))).toEqual({ status: 400, body: BAD_REQUEST_BODY });
    expect(await count(metrics.listenerErrors, { listener: 'ws' })).toBe(before + 1);
    await eventually(async () => expect(limiter.size).toBe(0));
    await bothProtocolsServe(gateway, 'after-late-throw');
  });

  it('closes, and counts, a Socket.IO transport whose connection listener throws', async () => {
    const limiter = gateway.app.get(ConnectionLimiter);
    const before = await count(metrics.listenerErrors, { listener: 'engine_connection' });
    jest.spyOn(limiter, 'tryAdmit').mockImplementationOnce(() => {
      throw new Error('boom');
    });
    const raw = openRawEngineIo(gateway.url);
    await raw.closed;
    expect(await count(metrics.listenerErrors, { listener: 'engine_connection' })).toBe(before + 1);
    await eventually(async () => expect(limiter.size).toBe(0));
    await bothProtocolsServe(gateway, 'after-engine-throw');
  });
});

describe('refused /ws upgrades release their slot', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ WEBSOCKET_MAX_CONNECTIONS: '20' });
  });
  afterEach(() => {
    closeAllClients();
    closeAllPlain();
  });
  afterAll(() => gateway.close());

  it('after 30 upgrades with a valid token that ws would refuse, both protocols still admit clients', async () => {
    const token = gateway.token('prober');
    const base = ['Connection: Upgrade', 'Upgrade: websocket'];
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==';
    const refusals: [string, string[], number][] = [
      [`GET /ws?token=${token} HTTP/1.1`, [...base, key, 'Sec-WebSocket-Version: 12'], 400],
      [`GET /ws?token=${token} HTTP/1.1`, [...base, key], 400],
      [`GET /ws?token=${token} HTTP/1.1`, [...base, 'Sec-WebSocket-Version: 13'], 400],
      [`GET /ws?token=${token} HTTP/1.1`, [...base, 'Sec-WebSocket-Key: short', 'Sec-WebSocket-Version: 13'], 400],
      [`POST /ws?token=${token} HTTP/1.1`, [...base, key, 'Sec-WebSocket-Version: 13', 'Content-Length: 0'], 405],
      [`GET /ws HTTP/1.1`, [...base, key, 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Protocol: bearer, ${token}, bearer`], 400],
      [`GET /ws HTTP/1.1`, [...base, key, 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Protocol: bearer,, ${token}`], 400],
      [`GET /api/v1/ws?token=${token} HTTP/1.1`, ['Connection: Upgrade', 'Upgrade: h2c', key, 'Sec-WebSocket-Version: 13'], 400],
    ];
    for (let round = 0; round < 4; round++) {
      for (const [requestLine, headers, status] of refusals) {
        const response = await rawRequest(gateway.url, requestLine, headers);
        expect(response.status).toBe(status);
        expect(response.body).toEqual({ statusCode: status, code: 'BAD_REQUEST', message: 'Malformed request' });
      }
    }
    // Valid upgrades from clients that leave before the server answers: each frees its slot too.
    for (let i = 0; i < 10; i++) await rawRequestThenReset(gateway.url, `GET /ws?token=${token} HTTP/1.1`);
    await eventually(async () => expect(gateway.app.get(ConnectionLimiter).size).toBe(0));

    const plain = await connectPlain(wsUrl(gateway.url, '/ws', `token=${token}`));
    expect(plain.messages[0].status).toBe('connected');
    expect((await connectAs(gateway.url, token)).connected).toBe(true);
    // And the cap itself still holds: 20 in all.
    for (let i = 0; i < 18; i++) await connectAs(gateway.url, gateway.token(`filler-${i}`));
    expect((await connectError(client(gateway.url, { auth: { token } }))).data).toEqual({ code: 'SERVER_FULL' });
    expect(await refusedPlain(wsUrl(gateway.url, '/ws', `token=${token}`))).toEqual({
      status: 503,
      body: { statusCode: 503, code: 'SERVER_FULL', message: 'Server full' },
    });
  });
});

describe('transports that never send CONNECT', () => {
  const raws: RawEngineIo[] = [];
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.terminate();
    closeAllClients();
    closeAllPlain();
  });

  const openRaw = async (url: string): Promise<RawEngineIo> => {
    const raw = openRawEngineIo(url);
    raws.push(raw);
    await raw.next('0{');
    return raw;
  };

  it('count against WS_MAX_CONNECTIONS_PER_IP from the moment they open, until they close', async () => {
    const gateway = await startGateway({ WS_MAX_CONNECTIONS_PER_IP: '2' });
    try {
      const [first, second] = [await openRaw(gateway.url), await openRaw(gateway.url)];
      const third = await openRaw(gateway.url);
      third.send(`40${JSON.stringify({ token: gateway.token('third') })}`);
      expect(JSON.parse((await third.next('44')).slice(2))).toEqual({ message: 'Too many connections', data: { code: 'TOO_MANY_CONNECTIONS' } });
      await third.closed;
      // Refused when it opened and silent since: not kept either (closed after a grace period).
      const silent = await openRaw(gateway.url);
      await silent.closed;
      expect((await connectError(client(gateway.url, { auth: { token: gateway.token('late') } }))).data).toEqual({ code: 'TOO_MANY_CONNECTIONS' });
      expect(await refusedPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('late')}`))).toEqual({
        status: 503,
        body: { statusCode: 503, code: 'TOO_MANY_CONNECTIONS', message: 'Too many connections' },
      });
      // A polling handshake is a transport too.
      const polling = await fetch(`${gateway.url}/socket.io/?EIO=4&transport=polling`);
      expect(polling.status).toBe(200);
      first.close();
      second.close();
      await Promise.all([first.closed, second.closed]);
      expect((await connectAs(gateway.url, gateway.token('late'))).connected).toBe(true);
      const plain = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('late')}`));
      expect(plain.messages[0].status).toBe('connected');
    } finally {
      await gateway.close();
    }
  });

  it('count against WEBSOCKET_MAX_CONNECTIONS too', async () => {
    const gateway = await startGateway({ WEBSOCKET_MAX_CONNECTIONS: '2' });
    try {
      const [first] = [await openRaw(gateway.url), await openRaw(gateway.url)];
      expect(gateway.app.get(ConnectionLimiter).size).toBe(2);
      expect((await connectError(client(gateway.url, { auth: { token: gateway.token('late') } }))).data).toEqual({ code: 'SERVER_FULL' });
      expect((await refusedPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('late')}`))).body.code).toBe('SERVER_FULL');
      first.close();
      await first.closed;
      await eventually(async () => expect(gateway.app.get(ConnectionLimiter).size).toBe(1));
      expect((await connectAs(gateway.url, gateway.token('late'))).connected).toBe(true);
    } finally {
      await gateway.close();
    }
  });
});

describe('slow Socket.IO readers', () => {
  let gateway: TestGateway;
  let metrics: MetricsService;
  const big = 'x'.repeat(16 * 1024);

  beforeAll(async () => {
    gateway = await startGateway({ WS_MAX_BUFFERED_BYTES: String(256 * 1024) });
    metrics = gateway.app.get(MetricsService);
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  /** Broadcasts 16 KiB events, yielding between them, until `done` or 4000 of them (64 MiB). */
  async function flood(done: () => boolean): Promise<number> {
    let sent = 0;
    while (!done() && sent < 4000) {
      gateway.websocket.broadcast('leaderboard:updated', { leaderboard: [{ filler: big }] as never });
      sent += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return sent;
  }

  it('disconnects a websocket client whose TCP socket stopped reading, and only that one', async () => {
    const before = await count(metrics.slowConsumers, { protocol: 'socketio' });
    const fast = await connectAs(gateway.url, gateway.token('fast'));
    const slow = await connectAs(gateway.url, gateway.token('slow'));
    const fastEvents = recordEvents(fast);
    // socket.io-client keeps the connection; only its TCP socket stops reading.
    (slow.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } }).ws._socket.pause();
    let dropped = false;
    void eventually(async () => expect(await count(metrics.slowConsumers, { protocol: 'socketio' })).toBe(before + 1), { attempts: 600, intervalMs: 50 }).then(
      () => (dropped = true),
    );
    const sent = await flood(() => dropped);
    expect(dropped).toBe(true);
    await eventually(async () => expect(gateway.websocket.localSocketCount()).toBe(1));
    gateway.websocket.broadcast('leaderboard:updated', { leaderboard: [] });
    await fastEvents.until((events) => events.filter((e) => e.event === 'leaderboard:updated').length === sent + 1);
    expect(fast.connected).toBe(true);
  });

  it('disconnects a polling client that stops polling', async () => {
    const before = await count(metrics.slowConsumers, { protocol: 'socketio' });
    const base = `${gateway.url}/socket.io/?EIO=4&transport=polling`;
    const open = await (await fetch(base)).text();
    const { sid } = JSON.parse(open.slice(1)) as { sid: string };
    const session = `${base}&sid=${sid}`;
    expect((await fetch(session, { method: 'POST', body: `40${JSON.stringify({ token: gateway.token('poller') })}` })).status).toBe(200);
    await eventually(async () => expect(await (await fetch(session)).text()).toContain('authenticated'));
    // From here on it never polls again: what the server sends waits in engine.io's write buffer.
    let dropped = false;
    void eventually(async () => expect(await count(metrics.slowConsumers, { protocol: 'socketio' })).toBe(before + 1), { attempts: 600, intervalMs: 50 }).then(
      () => (dropped = true),
    );
    await flood(() => dropped);
    expect(dropped).toBe(true);
    const after = await fetch(session);
    expect(after.status).toBe(400); // the session is gone
  });
});

describe('batch groups', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ WS_RATE_LIMIT: '100000' });
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  it('are freed when their last socket unsubscribes or disconnects', async () => {
    const batcher = gateway.app.get(ReadingBatcher);
    const socket = await connectAs(gateway.url, gateway.token('batcher'));
    for (let i = 0; i < 2000; i++) {
      expect(await socket.emitWithAck('subscribe', { topic: `sensor:s-${i}`, batchMs: 1 + (i % 1000) })).toMatchObject({ ok: true });
      expect(await socket.emitWithAck('unsubscribe', { topic: `sensor:s-${i}` })).toEqual({ ok: true, topic: `sensor:s-${i}` });
    }
    expect(batcher.groupCount).toBe(0);

    const other = await connectAs(gateway.url, gateway.token('batcher-2'));
    for (const s of [socket, other]) await s.emitWithAck('subscribe', { topic: 'readings', batchMs: 100 });
    await socket.emitWithAck('subscribe', { topic: 'anomalies', batchMs: 50 });
    expect(batcher.groupCount).toBe(2);
    const gone = disconnected(socket);
    socket.disconnect();
    await gone;
    await eventually(async () => expect(batcher.groupCount).toBe(1));
    other.disconnect();
    await eventually(async () => expect(batcher.groupCount).toBe(0));
  });
});

describe('unknown Socket.IO events', () => {
  let gateway: TestGateway;
  let metrics: MetricsService;

  beforeAll(async () => {
    gateway = await startGateway();
    metrics = gateway.app.get(MetricsService);
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  it('are answered UNKNOWN_EVENT on their ack, dropped without one, and counted', async () => {
    const before = await count(metrics.eventsRefused, { protocol: 'socketio', code: 'UNKNOWN_EVENT' });
    const socket = await connectAs(gateway.url, gateway.token('curious'));
    const events = recordEvents(socket);
    const raw = socket as unknown as { emitWithAck(event: string, ...args: unknown[]): Promise<unknown>; emit(event: string, ...args: unknown[]): void };
    for (const event of ['no-such-event', 'error', 'authenticated', 'constructor', '__proto__', 'subscribe:', 'x'.repeat(200)]) {
      expect(await raw.emitWithAck(event, { any: 'thing' })).toEqual({ ok: false, error: { code: 'UNKNOWN_EVENT', message: 'Unknown event' } });
    }
    expect(await raw.emitWithAck('no-payload')).toEqual({ ok: false, error: { code: 'UNKNOWN_EVENT', message: 'Unknown event' } });
    raw.emit('no-ack', 1);
    raw.emit('error', new Error('x'));
    expect(await socket.emitWithAck('subscribe', { topic: 'general' })).toEqual(joinedAck('general'));
    expect([...events]).toEqual([]);
    expect(socket.connected).toBe(true);
    expect(await count(metrics.eventsRefused, { protocol: 'socketio', code: 'UNKNOWN_EVENT' })).toBe(before + 10);
  });
});

describe('error bodies', () => {
  const issuer = 'https://idp.configured-issuer.example';
  const audience = 'configured-audience-7f3';
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ JWT_ISSUER: issuer, JWT_AUDIENCE: audience });
  });
  afterEach(() => {
    closeAllClients();
    closeAllPlain();
  });
  afterAll(() => gateway.close());

  const secrets = [audience, 'configured-issuer', 'claimed-audience-9c1', 'claimed-issuer-4d2', 'claimed-subject-5e8', 'jwt', 'expected'];
  const expectNoLeak = (value: unknown) => {
    const text = JSON.stringify(value).toLowerCase();
    for (const secret of secrets) expect(text).not.toContain(secret.toLowerCase());
  };
  const wrongAudience = () => signWith({ sub: 'claimed-subject-5e8' }, DEV_JWT_SECRET, { expiresIn: 60, issuer, audience: 'claimed-audience-9c1' });
  const wrongIssuer = () => signWith({ sub: 'claimed-subject-5e8' }, DEV_JWT_SECRET, { expiresIn: 60, issuer: 'https://claimed-issuer-4d2.example', audience });

  it.each([
    ['a wrong audience', wrongAudience],
    ['a wrong issuer', wrongIssuer],
  ])('say the code and a fixed message for %s, on /ws and Socket.IO', async (_case, token) => {
    const refused = await refusedPlain(wsUrl(gateway.url, '/ws', `token=${token()}`));
    expect(refused).toEqual({ status: 401, body: { statusCode: 401, code: 'TOKEN_INVALID', message: 'Unauthorized' } });
    expectNoLeak(refused);

    const error = await connectError(client(gateway.url, { auth: { token: token() } }));
    expect(error.message).toBe('Unauthorized');
    expect(error.data).toEqual({ code: 'TOKEN_INVALID' });
    expectNoLeak({ message: error.message, data: error.data });

    const socket = await connectAs(gateway.url, gateway.token('refresher'));
    const reply = await socket.emitWithAck('auth:refresh', { token: token() });
    expect(reply).toEqual({ ok: false, error: { code: 'TOKEN_INVALID', message: 'The token is not valid' } });
    expectNoLeak(reply);
  });

  it('never echo what the client sent on /ws', async () => {
    const sent = '<img src=x onerror=alert(1)>';
    const refused = await refusedPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('echo')}&topics=${encodeURIComponent(sent)}`));
    expect(refused).toEqual({ status: 400, body: { statusCode: 400, code: 'UNKNOWN_TOPIC', message: 'Unknown topic' } });
    const plain = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('echo')}`));
    plain.send({ type: 'sub', topic: sent });
    expect(await plain.next((m) => m.type === 'error')).toEqual({ type: 'error', code: 'UNKNOWN_TOPIC', message: 'Unknown topic' });
    plain.send('not json');
    expect(await plain.next((m) => m.type === 'error')).toEqual({ type: 'error', code: 'VALIDATION_FAILED', message: 'The request is not valid' });
    const socket = await connectAs(gateway.url, gateway.token('echo'));
    expect(await socket.emitWithAck('subscribe', { topic: sent })).toEqual({ ok: false, error: { code: 'UNKNOWN_TOPIC', message: 'Unknown topic' } });
  });
});
