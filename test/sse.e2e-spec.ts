import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import { ERROR_MESSAGES, type ErrorCode } from '#contracts';
import { createPostgresDatabase, type TestDatabase } from './support/database.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllSse, decodeSseCursor, refusedSse, sse, type SseMessage } from './support/sse.js';
import { rawRequestThenReset } from './support/raw-http.js';
import { TcpProxy } from './support/tcp-proxy.js';

/** The fixed body of a refusal. */
const refusal = (statusCode: number, code: ErrorCode) => ({ status: statusCode, body: { statusCode, code, message: ERROR_MESSAGES[code] } });

const EVENTS = '/api/v1/events';
const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
const systemEvent = (message: string) => ({ level: 'info' as const, message, timestamp: new Date().toISOString() });
const isEvent = (message: SseMessage) => message.event === 'system:event';
const messageOf = (message: SseMessage): string => JSON.parse(message.data).message;

async function mintTicket(gateway: TestGateway, token: string): Promise<string> {
  const minted = await api(gateway.url, 'POST', '/events/ticket', token);
  expect(minted.status).toBe(201);
  return minted.body.ticket;
}

/** A counter of the gateway's metrics text, 0 when absent. */
async function metric(gateway: TestGateway, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((label) => l.includes(label)));
  return line ? Number(line.split(' ').pop()) : 0;
}

/**
 * Publishes `count` system events to `topic` (one stream each), numbered from `from`, cutting the
 * proxy after `cutAfter` of them: the client misses whatever follows, without a clean close.
 */
function publishAll(gateway: TestGateway, topic: 'general' | `sensor:${string}`, tag: string, from: number, count: number): void {
  for (let i = from; i < from + count; i++) gateway.websocket.emitToTopic(topic, 'system:event', systemEvent(`${tag}-${i}`));
}

afterEach(() => closeAllSse());

describe('SSE on one instance', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ WEBSOCKET_PING_INTERVAL: '0.2', HISTORY_SIZE: '300' });
  });
  afterAll(() => gateway.close());

  describe('tickets', () => {
    it('are minted for a bearer token only', async () => {
      expect(await api(gateway.url, 'POST', '/events/ticket')).toEqual(refusal(401, 'TOKEN_MISSING'));
      expect(await api(gateway.url, 'POST', '/events/ticket', 'garbage')).toEqual(refusal(401, 'TOKEN_INVALID'));
      const before = Date.now();
      const minted = await api(gateway.url, 'POST', '/events/ticket', gateway.token('t-user'));
      expect(minted.status).toBe(201);
      expect(minted.body).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresAt: expect.any(Number) });
      expect(minted.body.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    });

    it('open a stream as their user once, and are refused the second time', async () => {
      const ticket = await mintTicket(gateway, gateway.token('once-user', { role: 'admin' }));
      const stream = await sse(gateway.url, `${EVENTS}?topics=system&ticket=${ticket}`);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      const connected = await stream.next((m) => m.event === 'connected');
      expect(JSON.parse(connected.data)).toEqual({ userId: 'once-user', topics: ['system'] });
      expect(Object.keys(decodeSseCursor(connected.id)).sort()).toEqual(['system', 'user:once-user']);
      expect(await refusedSse(gateway.url, `${EVENTS}?ticket=${ticket}`)).toEqual(refusal(401, 'TOKEN_INVALID'));
    });

    it.each([
      ['an unknown ticket', `ticket=${randomBytes(32).toString('base64url')}`],
      ['a malformed ticket', 'ticket=abc'],
      ['an empty ticket', 'ticket='],
    ])('refuse %s with 401 and the fixed body', async (_case, query) => {
      const expected = query === 'ticket=' ? refusal(401, 'TOKEN_MISSING') : refusal(401, 'TOKEN_INVALID');
      expect(await refusedSse(gateway.url, `${EVENTS}?${query}`)).toEqual(expected);
    });

    it(`are capped per user (429), other users unaffected`, async () => {
      const token = gateway.token('greedy-user');
      const answers = [];
      for (let i = 0; i < 20; i++) answers.push((await api(gateway.url, 'POST', '/events/ticket', token)).status);
      expect(answers).toEqual(Array(20).fill(201));
      expect(await api(gateway.url, 'POST', '/events/ticket', token)).toEqual(refusal(429, 'RATE_LIMITED'));
      expect((await api(gateway.url, 'POST', '/events/ticket', gateway.token('modest-user'))).status).toBe(201);
    });
  });

  describe('refusals (fixed bodies, counted with protocol="sse")', () => {
    it('refuses a JWT in the URL, even a valid one', async () => {
      const before = await metric(gateway, 'realtime_handshake_failures_total', 'protocol="sse",code="BAD_REQUEST"');
      expect(await refusedSse(gateway.url, `${EVENTS}?token=${gateway.token('url-user')}`)).toEqual(refusal(400, 'BAD_REQUEST'));
      expect(await metric(gateway, 'realtime_handshake_failures_total', 'protocol="sse",code="BAD_REQUEST"')).toBe(before + 1);
    });

    it.each([
      ['no credentials', '', {}, refusal(401, 'TOKEN_MISSING')],
      ['a bad bearer token', '', bearer('garbage').headers, refusal(401, 'TOKEN_INVALID')],
    ])('refuses %s with 401', async (_case, query, headers, expected) => {
      expect(await refusedSse(gateway.url, `${EVENTS}${query}`, { headers })).toEqual(expected);
    });

    it('refuses `system` to a user (403), an unknown topic and a user room (400/403), too many topics (400)', async () => {
      const user = bearer(gateway.token('acl-user'));
      expect(await refusedSse(gateway.url, `${EVENTS}?topics=general,system`, user)).toEqual(refusal(403, 'FORBIDDEN'));
      expect(await refusedSse(gateway.url, `${EVENTS}?topics=nope`, user)).toEqual(refusal(400, 'UNKNOWN_TOPIC'));
      expect(await refusedSse(gateway.url, `${EVENTS}?topics=user:someone-else`, user)).toEqual(refusal(403, 'FORBIDDEN'));
      const many = Array.from({ length: 257 }, (_, i) => `sensor:s${i}`).join(',');
      expect(await refusedSse(gateway.url, `${EVENTS}?topics=${many}`, user)).toEqual(refusal(400, 'TOO_MANY_TOPICS'));
      expect(await metric(gateway, 'realtime_handshake_failures_total', 'protocol="sse",code="FORBIDDEN"')).toBeGreaterThanOrEqual(2);
      const admin = await sse(gateway.url, `${EVENTS}?topics=system`, bearer(gateway.token('acl-admin', { role: 'admin' })));
      expect((await admin.next()).event).toBe('connected');
    });

    it('refuses an origin that is not allowed (403), like the other endpoints', async () => {
      const headers = { ...bearer(gateway.token('origin-user')).headers, Origin: 'https://evil.example' };
      expect(await refusedSse(gateway.url, EVENTS, { headers })).toEqual(refusal(403, 'FORBIDDEN'));
      const allowed = await sse(gateway.url, EVENTS, { headers: { ...headers, Origin: 'http://localhost:5173' } });
      expect(allowed.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    });
  });

  describe('delivery', () => {
    it('delivers topic events and the user room, each with the cursor of every stream', async () => {
      const stream = await sse(gateway.url, `${EVENTS}?topics=sensor:sse-1,general`, bearer(gateway.token('d-user')));
      const connected = await stream.next((m) => m.event === 'connected');
      expect(JSON.parse(connected.data)).toEqual({ userId: 'd-user', topics: ['sensor:sse-1', 'general'] });
      const start = decodeSseCursor(connected.id);
      expect(Object.keys(start).sort()).toEqual(['general', 'sensor:sse-1', 'user:d-user']);

      gateway.websocket.emitToTopic('sensor:sse-1', 'system:event', systemEvent('to the sensor'));
      const onSensor = await stream.next(isEvent);
      expect(messageOf(onSensor)).toBe('to the sensor');
      expect(decodeSseCursor(onSensor.id)['sensor:sse-1']).toEqual([start['sensor:sse-1']![0], start['sensor:sse-1']![1] + 1]);

      gateway.websocket.emitToUser('d-user', 'xp:gained', { amount: 5, source: 'sse', totalXp: 5 });
      const own = await stream.next((m) => m.event === 'xp:gained');
      expect(JSON.parse(own.data)).toEqual({ amount: 5, source: 'sse', totalXp: 5 });
      expect(decodeSseCursor(own.id)['user:d-user']![1]).toBe(start['user:d-user']![1] + 1);

      // Another user's room never reaches this stream.
      gateway.websocket.emitToUser('someone-else', 'xp:gained', { amount: 1, source: 'other', totalXp: 1 });
      gateway.websocket.emitToTopic(['general', 'sensor:sse-1'], 'system:event', systemEvent('to both, once'));
      const both = await stream.next(isEvent);
      expect(messageOf(both)).toBe('to both, once');
      gateway.websocket.emitToTopic('general', 'system:event', systemEvent('marker'));
      await stream.next((m) => isEvent(m) && messageOf(m) === 'marker');
      expect(stream.messages.filter((m) => m.event === 'xp:gained')).toHaveLength(1);
      expect(stream.messages.filter((m) => isEvent(m) && messageOf(m) === 'to both, once')).toHaveLength(1);
    });

    it('sends a keepalive comment every WEBSOCKET_PING_INTERVAL', async () => {
      const stream = await sse(gateway.url, EVENTS, bearer(gateway.token('k-user')));
      await eventually(async () => expect(stream.comments.filter((c) => c === 'keepalive').length).toBeGreaterThanOrEqual(2));
    });

    it('ends the stream with event: error TOKEN_EXPIRED when the token expires', async () => {
      const stream = await sse(gateway.url, EVENTS, bearer(gateway.token('exp-user', {}, 2)));
      await stream.next((m) => m.event === 'connected');
      const error = await stream.next((m) => m.event === 'error', 6_000);
      expect(JSON.parse(error.data)).toEqual({ code: 'TOKEN_EXPIRED' });
      await stream.ended;
      await eventually(async () => expect(await metric(gateway, 'realtime_connections', 'protocol="sse"')).toBe(0));
    });

    it('counts streams in the connections gauge and the stats, and releases them on close', async () => {
      await eventually(async () => expect(await metric(gateway, 'realtime_connections', 'protocol="sse"')).toBe(0));
      const a = await sse(gateway.url, `${EVENTS}?topics=sensor:gauge-1`, bearer(gateway.token('g-user')));
      const b = await sse(gateway.url, EVENTS, bearer(gateway.token('g-user')));
      expect(await metric(gateway, 'realtime_connections', 'protocol="sse"')).toBe(2);
      const stats = (await api(gateway.url, 'GET', '/ws/stats', gateway.token('g-admin', { role: 'admin' }))).body;
      expect(stats).toMatchObject({ connections: 2, connectionsByProtocol: { socketio: 0, ws: 0, sse: 2 }, topics: { 'sensor:gauge-1': { subscribers: 1 } } });
      a.close();
      b.close();
      await eventually(async () => expect(await metric(gateway, 'realtime_connections', 'protocol="sse"')).toBe(0));
    });
  });

  describe('resume', () => {
    it('resumes after a cut without a clean close while 200 events are published: every missed event once, in order', async () => {
      const proxy = await TcpProxy.start(Number(new URL(gateway.url).port));
      try {
        const token = gateway.token('r-user');
        const first = await sse(gateway.url, `${EVENTS}?topics=sensor:resume-1`, { ...bearer(token), port: proxy.port });
        await first.next((m) => m.event === 'connected');
        publishAll(gateway, 'sensor:resume-1', 'r', 0, 50);
        await first.waitFor(50, isEvent);
        proxy.drop();
        publishAll(gateway, 'sensor:resume-1', 'r', 50, 150);
        await first.ended;
        const lastId = first.messages.at(-1)!.id;
        const seen = first.messages.filter(isEvent).map(messageOf);
        proxy.restore();

        const second = await sse(gateway.url, `${EVENTS}?topics=sensor:resume-1`, {
          headers: { ...bearer(token).headers, 'Last-Event-ID': lastId },
          port: proxy.port,
        });
        const opening = await second.next();
        expect(opening.event).toBe('connected');
        publishAll(gateway, 'sensor:resume-1', 'r', 200, 1);
        await second.next((m) => isEvent(m) && messageOf(m) === 'r-200');
        const all = [...seen, ...second.messages.filter(isEvent).map(messageOf)];
        expect(all).toEqual(Array.from({ length: 201 }, (_, i) => `r-${i}`));
      } finally {
        await proxy.close();
      }
    });

    it('resumes from ?lastEventId= as well (what an app passes with a new ticket)', async () => {
      const token = gateway.token('q-user');
      const first = await sse(gateway.url, `${EVENTS}?topics=sensor:resume-2`, bearer(token));
      const connected = await first.next((m) => m.event === 'connected');
      first.close();
      await eventually(async () => expect(await metric(gateway, 'realtime_connections', 'protocol="sse"')).toBe(0));
      publishAll(gateway, 'sensor:resume-2', 'q', 0, 3);
      const ticket = await mintTicket(gateway, token);
      const second = await sse(gateway.url, `${EVENTS}?topics=sensor:resume-2&ticket=${ticket}&lastEventId=${connected.id}`);
      expect((await second.next()).event).toBe('connected');
      expect((await second.waitFor(3, isEvent)).map(messageOf)).toEqual(['q-0', 'q-1', 'q-2']);
    });

    it('opens with event: reset naming the streams the history no longer covers (HISTORY_SIZE overflow)', async () => {
      const token = gateway.token('o-user');
      const first = await sse(gateway.url, `${EVENTS}?topics=sensor:overflow-1,sensor:quiet-1`, bearer(token));
      const connected = await first.next((m) => m.event === 'connected');
      first.close();
      publishAll(gateway, 'sensor:overflow-1', 'o', 0, 310);
      const second = await sse(gateway.url, `${EVENTS}?topics=sensor:overflow-1,sensor:quiet-1`, {
        headers: { ...bearer(token).headers, 'Last-Event-ID': connected.id },
      });
      const reset = await second.next();
      expect(reset.event).toBe('reset');
      expect(JSON.parse(reset.data)).toEqual({ streams: ['sensor:overflow-1'] });
      expect((await second.next()).event).toBe('connected');
      // Nothing is replayed for a reset stream; the cursor now holds its current position.
      expect(decodeSseCursor(reset.id)['sensor:overflow-1']![1]).toBe(decodeSseCursor(connected.id)['sensor:overflow-1']![1] + 310);
      publishAll(gateway, 'sensor:overflow-1', 'o', 310, 1);
      expect(messageOf(await second.next(isEvent))).toBe('o-310');
    });

    it.each([['garbage'], ['dGhpcyBpcyBub3QgYSBjdXJzb3I'], ['x'.repeat(9000)]])(
      'treats a malformed cursor (%#) as a reset of every stream, never an error page',
      async (cursor) => {
        const stream = await sse(gateway.url, `${EVENTS}?topics=general`, { headers: { ...bearer(gateway.token('m-user')).headers, 'Last-Event-ID': cursor } });
        const reset = await stream.next();
        expect(reset.event).toBe('reset');
        expect(JSON.parse(reset.data).streams.sort()).toEqual(['general', 'user:m-user']);
        expect((await stream.next()).event).toBe('connected');
      },
    );
  });
});

describe('SSE limits', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway(
      { WS_MAX_CONNECTIONS_PER_IP: '2', WS_MAX_BUFFERED_BYTES: '65536' },
      { configure: (config) => void (config.realtime.sseTicketTtlMs = 300) },
    );
  });
  afterAll(() => gateway.close());

  it('refuses an expired ticket', async () => {
    const ticket = await mintTicket(gateway, gateway.token('late-user'));
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await refusedSse(gateway.url, `${EVENTS}?ticket=${ticket}`)).toEqual(refusal(401, 'TOKEN_INVALID'));
  });

  it('counts streams against the per-address cap and frees the slot on close', async () => {
    const token = gateway.token('cap-user');
    const a = await sse(gateway.url, EVENTS, bearer(token));
    await sse(gateway.url, EVENTS, bearer(token));
    expect(await refusedSse(gateway.url, EVENTS, bearer(token))).toEqual(refusal(503, 'TOO_MANY_CONNECTIONS'));
    expect(await metric(gateway, 'realtime_handshake_failures_total', 'protocol="sse",code="TOO_MANY_CONNECTIONS"')).toBe(1);
    a.close();
    await eventually(async () => expect((await sse(gateway.url, EVENTS, bearer(token))).status).toBe(200));
  });

  it('frees the slot of a client that leaves before its stream opens', async () => {
    const token = gateway.token('gone-user');
    const ticketed = await Promise.all([mintTicket(gateway, token), mintTicket(gateway, token), mintTicket(gateway, token)]);
    await Promise.all([
      ...ticketed.map((ticket) => rawRequestThenReset(gateway.url, `GET ${EVENTS}?topics=general&ticket=${ticket} HTTP/1.1`, ['Accept: text/event-stream'])),
      ...[1, 2, 3].map(() => rawRequestThenReset(gateway.url, `GET ${EVENTS}?topics=general HTTP/1.1`, [`Authorization: Bearer ${token}`])),
    ]);
    await eventually(async () => expect(await metric(gateway, 'realtime_connections', 'protocol="sse"')).toBe(0));
    // Both slots of this address are free again.
    await sse(gateway.url, EVENTS, bearer(token));
    await sse(gateway.url, EVENTS, bearer(token));
  });

  it('drops a client that stops reading once WS_MAX_BUFFERED_BYTES wait for it, and only that one', async () => {
    await eventually(async () => expect(await metric(gateway, 'realtime_connections', 'protocol="sse"')).toBe(0));
    const token = gateway.token('slow-user');
    const reader = await sse(gateway.url, `${EVENTS}?topics=sensor:slow-1`, bearer(token));
    const slow = await sse(gateway.url, `${EVENTS}?topics=sensor:slow-1`, bearer(token));
    await slow.next((m) => m.event === 'connected');
    await reader.next((m) => m.event === 'connected');
    // Alive but not reading: the kernel's buffers fill, then the server's.
    slow.pause();
    const big = 'x'.repeat(4096);
    // In steps, so the reader (in this same process) gets to read between them.
    for (let i = 0; i < 3000; i++) {
      gateway.websocket.emitToTopic('sensor:slow-1', 'system:event', systemEvent(`${i}-${big}`));
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await eventually(async () => expect(await metric(gateway, 'realtime_slow_consumers_total', 'protocol="sse"')).toBe(1));
    expect((await reader.waitFor(3000, isEvent, 30_000)).length).toBe(3000);
    await eventually(async () => expect(await metric(gateway, 'realtime_connections', 'protocol="sse"')).toBe(1));
  });
});

describe('SSE after a restart of an in-memory instance', () => {
  it('ends streams on shutdown, and a resume on the new process opens with event: reset for every stream: their history went with it', async () => {
    const before = await startGateway();
    let cursor: string;
    let closed = false;
    try {
      const stream = await sse(before.url, `${EVENTS}?topics=general`, bearer(before.token('restart-user')));
      cursor = (await stream.next((m) => m.event === 'connected')).id;
      // Shutdown ends the stream cleanly (EventSource then reconnects by itself).
      await before.close();
      closed = true;
      await stream.ended;
    } finally {
      if (!closed) await before.close();
    }
    const after = await startGateway();
    try {
      const stream = await sse(after.url, `${EVENTS}?topics=general`, { headers: { ...bearer(after.token('restart-user')).headers, 'Last-Event-ID': cursor } });
      const reset = await stream.next();
      expect(reset.event).toBe('reset');
      expect(JSON.parse(reset.data).streams.sort()).toEqual(['general', 'user:restart-user']);
      expect((await stream.next()).event).toBe('connected');
    } finally {
      closeAllSse();
      await after.close();
    }
  });
});

describe('SSE across two instances on Redis', () => {
  let database: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const env = { ...database.env, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: `sse-e2e:${process.pid}:${randomBytes(4).toString('hex')}:` };
    a = await startGateway(env);
    b = await startGateway(env);
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  it('redeems a ticket minted on one instance on the other, once', async () => {
    const ticket = await mintTicket(a, a.token('x-user'));
    const stream = await sse(b.url, `${EVENTS}?ticket=${ticket}`);
    expect(JSON.parse((await stream.next()).data).userId).toBe('x-user');
    expect(await refusedSse(a.url, `${EVENTS}?ticket=${ticket}`)).toEqual(refusal(401, 'TOKEN_INVALID'));
  });

  it('tells a connected stream `reset` when Redis loses the history, then goes on in the new epoch', async () => {
    const stream = await sse(b.url, `${EVENTS}?topics=sensor:flushed-1`, bearer(b.token('f-user')));
    await stream.next((m) => m.event === 'connected');
    publishAll(a, 'sensor:flushed-1', 'f', 0, 1);
    const before = await stream.next(isEvent);
    // What FLUSHDB (or eviction) does to this stream.
    const prefix = a.config.redisKeyPrefix;
    const admin = createClient({ url: 'redis://127.0.0.1:6379' });
    await admin.connect();
    try {
      await admin.del([`${prefix}streams:m:sensor:flushed-1`, `${prefix}streams:h:sensor:flushed-1`]);
    } finally {
      await admin.close();
    }
    publishAll(a, 'sensor:flushed-1', 'f', 1, 1);
    const reset = await stream.next((m) => m.event === 'reset');
    expect(JSON.parse(reset.data)).toEqual({ streams: ['sensor:flushed-1'] });
    const after = await stream.next(isEvent);
    expect(messageOf(after)).toBe('f-1');
    expect(decodeSseCursor(after.id)['sensor:flushed-1']![0]).not.toBe(decodeSseCursor(before.id)['sensor:flushed-1']![0]);
  });

  it('resumes on the other instance after a cut while 200 events are published: every missed event once, in order', async () => {
    const proxy = await TcpProxy.start(Number(new URL(a.url).port));
    try {
      const token = a.token('c-user');
      const first = await sse(a.url, `${EVENTS}?topics=sensor:cluster-1`, { ...bearer(token), port: proxy.port });
      await first.next((m) => m.event === 'connected');
      publishAll(b, 'sensor:cluster-1', 'c', 0, 50);
      await first.waitFor(50, isEvent);
      proxy.drop();
      publishAll(b, 'sensor:cluster-1', 'c', 50, 150);
      await first.ended;
      const lastId = first.messages.at(-1)!.id;
      const seen = first.messages.filter(isEvent).map(messageOf);

      const second = await sse(b.url, `${EVENTS}?topics=sensor:cluster-1`, { headers: { ...bearer(token).headers, 'Last-Event-ID': lastId } });
      expect((await second.next()).event).toBe('connected');
      publishAll(a, 'sensor:cluster-1', 'c', 200, 1);
      await second.next((m) => isEvent(m) && messageOf(m) === 'c-200', 20_000);
      expect([...seen, ...second.messages.filter(isEvent).map(messageOf)]).toEqual(Array.from({ length: 201 }, (_, i) => `c-${i}`));
    } finally {
      await proxy.close();
    }
  });
});
