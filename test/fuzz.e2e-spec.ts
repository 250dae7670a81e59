import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WebSocket } from 'ws';
import { ERROR_MESSAGES, type ErrorCode } from '#contracts';
import { DEV_JWT_SECRET } from '../src/config/app-config.js';
import { client, closeAllClients, connectAs, connectError, countOf, joinedAck, recordEvents } from './support/clients.js';
import { fuzzSeed, metricSum, Prng, rawExchange, runPool, Tally, type RawReply } from './support/fuzz.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { closeAllDevices, device } from './support/mqtt.js';
import { closeAllPlain, connectPlain, wsUrl, type PlainClient } from './support/plain-ws.js';
import { signWith, unsignedToken } from './support/tokens.js';

/**
 * Throws thousands of malformed inputs of many kinds at every entry point of ONE running gateway
 * (raw HTTP, upgrade requests, Socket.IO over websocket and polling, `/ws` frames, MQTT packets
 * and payloads), then checks that the same process still serves good clients, holds no slot for
 * what it refused, and counted every refusal. Inputs come from a seeded PRNG: a failure names the
 * seed (`FUZZ_SEED`) and the case, and the same seed replays the same inputs.
 */
const SEED = fuzzSeed();
const rng = new Prng(SEED);
const tally = new Tally();
/**
 * Each section stops starting new cases after this long, so a slow machine cannot hang the suite.
 * The work itself is bounded by the case counts (each section takes 3-17 s on a quiet machine); 20 s
 * was too little on a 2-core machine at load 14, where the Socket.IO section ran out of budget
 * after ~1,100 of its ~1,400 cases and the run fell under 5,000 inputs.
 */
const SECTION_BUDGET_MS = 40_000;
/** A section's own time limit: its budget plus what its last cases and checks may take. */
const SECTION_TIMEOUT_MS = SECTION_BUDGET_MS + 25_000;
const MAX_CONNECTIONS = 32;
const MAX_SENSORS = 40;
const MAX_METRICS_PER_SENSOR = 4;
/** Unique per run, so two copies of the suite (other worktrees) never share sensor ids or client ids. */
const RUN = `fz${process.pid.toString(36)}${Date.now().toString(36)}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Resolves true once `promise` does, false when it rejects or takes longer than `ms` (a broker that dropped the client never acks). */
const settles = (promise: Promise<unknown>, ms = 2_000): Promise<boolean> =>
  Promise.race([
    promise.then(
      () => true,
      () => false,
    ),
    sleep(ms).then(() => false),
  ]);
const repeat = (text: string, n: number) => text.repeat(n);
const where = (kind: string, index: number) => `[seed ${SEED}] ${kind}#${index}`;

/** Tokens the gateway must refuse, with the code a refusal of each carries (undefined: refused, code not pinned). */
function badTokens(): { kind: string; token: string; code?: 'TOKEN_MISSING' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' }[] {
  const now = Math.floor(Date.now() / 1000);
  return [
    { kind: 'garbage', token: rng.string(20 + rng.int(40), 'abcdefghijklmnopqrstuvwxyz0123456789'), code: 'TOKEN_INVALID' },
    { kind: 'three-dots', token: 'a.b.c', code: 'TOKEN_INVALID' },
    {
      kind: 'base64-junk',
      token: `${Buffer.from(rng.string(30)).toString('base64url')}.${Buffer.from(rng.string(30)).toString('base64url')}.${Buffer.from(rng.string(30)).toString('base64url')}`,
      code: 'TOKEN_INVALID',
    },
    { kind: 'alg-none', token: unsignedToken({ sub: 'mallory', role: 'admin' }), code: 'TOKEN_INVALID' },
    { kind: 'wrong-secret', token: signWith({ sub: 'mallory', role: 'admin' }, 'not-the-secret-not-the-secret-not-the-secret'), code: 'TOKEN_INVALID' },
    { kind: 'expired', token: signWith({ sub: 'late', exp: now - 60 }, DEV_JWT_SECRET), code: 'TOKEN_EXPIRED' },
    { kind: 'not-yet-valid', token: signWith({ sub: 'early', nbf: now + 3600 }, DEV_JWT_SECRET) },
    { kind: 'huge', token: repeat('x', 6000), code: 'TOKEN_INVALID' },
    { kind: 'truncated', token: signWith({ sub: 'cut' }, DEV_JWT_SECRET).slice(0, -5), code: 'TOKEN_INVALID' },
    { kind: 'json-not-jwt', token: '{"sub":"x"}', code: 'TOKEN_INVALID' },
  ];
}

// ---------------------------------------------------------------------------------------------
// Raw Socket.IO (Engine.IO 4 over websocket): what socket.io-client never sends.

class RawSocketIo {
  readonly frames: string[] = [];
  closed = false;
  private readonly waiters: { match: (frame: string) => boolean; resolve: (frame: string | null) => void }[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const frame = isBinary ? '<binary>' : data.toString();
      if (frame === '2') ws.send('3'); // answer keepalive pings
      this.frames.push(frame);
      for (const waiter of [...this.waiters]) {
        if (!waiter.match(frame)) continue;
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      this.closed = true;
      for (const waiter of this.waiters.splice(0)) waiter.resolve(null);
    });
  }

  /** Opens the transport; null when the server refused it. */
  static open(httpUrl: string): Promise<RawSocketIo | null> {
    const ws = new WebSocket(wsUrl(httpUrl, '/socket.io/', 'EIO=4&transport=websocket'), { perMessageDeflate: false });
    const raw = new RawSocketIo(ws);
    return new Promise((resolve) => {
      ws.once('unexpected-response', () => resolve(null));
      ws.once('error', () => resolve(null));
      void raw.waitFor((frame) => frame.startsWith('0'), 3_000).then((open) => resolve(open ? raw : null));
    });
  }

  send(frame: string | Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  /** The first frame (already received or to come) matching `match`; null on close or timeout. */
  waitFor(match: (frame: string) => boolean, timeoutMs: number): Promise<string | null> {
    const seen = this.frames.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter = { match, resolve };
      this.waiters.push(waiter);
      setTimeout(() => {
        const index = this.waiters.indexOf(waiter);
        if (index < 0) return;
        this.waiters.splice(index, 1);
        resolve(null);
      }, timeoutMs).unref();
    });
  }

  /** CONNECT with `auth`; the server's answer (`40…` or `44…`), or null. */
  async connect(auth: string): Promise<string | null> {
    this.send(`40${auth}`);
    return this.waitFor((frame) => frame.startsWith('40') || frame.startsWith('44'), 3_000);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The ack `43<id>[payload]` for `id`, parsed. */
function ackOf(frames: string[], id: number): unknown {
  const prefix = `43${id}[`;
  const frame = frames.find((f) => f.startsWith(prefix));
  return frame === undefined ? undefined : (JSON.parse(frame.slice(prefix.length - 1)) as unknown[])[0];
}

// ---------------------------------------------------------------------------------------------
// Raw MQTT 3.1.1 packets, for what the mqtt client library refuses to send.

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}
const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const mqttString = (value: string | Buffer) => {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([u16(bytes.length), bytes]);
};
const mqttPacket = (header: number, body: Buffer) => Buffer.concat([Buffer.from([header]), remainingLength(body.length), body]);
const mqttConnect = (clientId: string, { protocol = 'MQTT', level = 4, flags = 0x02 } = {}) =>
  mqttPacket(0x10, Buffer.concat([mqttString(protocol), Buffer.from([level, flags, 0, 30]), mqttString(clientId)]));
const mqttPublish = (
  topic: string | Buffer,
  payload: string | Buffer,
  { qos = 0, retain = false, header }: { qos?: number; retain?: boolean; header?: number } = {},
) => mqttPacket(header ?? 0x30 | (qos << 1) | (retain ? 1 : 0), Buffer.concat([mqttString(topic), qos > 0 ? u16(7) : Buffer.alloc(0), Buffer.from(payload)]));
const mqttSubscribe = (filter: string, qos = 0) => mqttPacket(0x82, Buffer.concat([u16(1), mqttString(filter), Buffer.from([qos])]));

// ---------------------------------------------------------------------------------------------

describe(`fuzz: malformed input at every entry point of one gateway (FUZZ_SEED=${SEED})`, () => {
  let gateway: TestGateway;
  let port: number;
  let brokerPort: number;
  let metricsBefore: string;
  let userToken: string;
  let adminToken: string;
  /** Lower bounds of what the counters must have grown by, filled in as the sections run. */
  const expected = {
    socketioHandshake: new Map<string, number>(),
    socketioRefusals: 0,
    wsHandshake: new Map<string, number>(),
    wsRefusals: 0,
    socketioUnknownEvents: 0,
    wsUnknownFrames: 0,
    mqttRejected: new Map<string, number>(),
    mqttRejectedTotal: 0,
    /** Raw HTTP answers by 4xx status: Node's parser refusals and the app's alike. */
    httpRefused: new Map<string, number>(),
    /** Engine.IO requests refused with a 4xx before any session (bad EIO, transport, sid, method). */
    engineIoErrors: 0,
    /** Packets Engine.IO or Socket.IO could not parse, sent on an open connection (each closes it). */
    socketioParseErrors: 0,
    /** /ws frames over WS_MAX_PAYLOAD that closed their connection (1009). */
    wsTooLarge: 0,
    /** /ws connections sent frames that break RFC 6455. */
    wsProtocolViolations: 0,
    /** MQTT packets the broker cannot accept (both QoS bits set): each closes its connection. */
    mqttMalformed: 0,
  };
  /** The same process still answers its health check (the body names what is down when it is not). */
  const expectHealthy = async () => {
    const response = await fetch(`${gateway.url}/api/v1/health`);
    const body: unknown = await response.json();
    if (response.status !== 200) throw new Error(`health answered ${response.status}: ${JSON.stringify(body)}`);
  };
  const bump = (map: Map<string, number>, key: string, n = 1) => map.set(key, (map.get(key) ?? 0) + n);
  /** Every HTTP answer of the raw HTTP section, for the body checks. */
  const httpReplies: { where: string; sent: string; reply: RawReply; token?: string }[] = [];
  /** Sensors registered by the MQTT section, which later good publishes may use. */
  const knownSensors: string[] = [];

  beforeAll(async () => {
    gateway = await startGateway({
      WEBSOCKET_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      // Every malformed frame must reach the parsers, not the rate limiter.
      WS_RATE_LIMIT: '100000',
      // Abandoned transports (a polling session nobody closes) are reaped within seconds.
      WEBSOCKET_PING_INTERVAL: '1',
      WEBSOCKET_PING_TIMEOUT: '1',
      MQTT_ALLOW_ANONYMOUS: 'true',
      SENSOR_AUTO_REGISTER: 'true',
      MAX_SENSORS: String(MAX_SENSORS),
      MAX_METRICS_PER_SENSOR: String(MAX_METRICS_PER_SENSOR),
    });
    port = Number(new URL(gateway.url).port);
    brokerPort = Number(new URL(gateway.mqttUrl).port);
    userToken = gateway.token(`${RUN}-user`);
    adminToken = gateway.token(`${RUN}-admin`, { role: 'admin' });
    metricsBefore = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
  });
  afterAll(async () => {
    closeAllClients();
    closeAllPlain();
    await closeAllDevices();
    await gateway.close();
    console.log(`fuzz seed ${SEED}: ${tally.total} inputs of ${tally.kinds} kinds: ${tally.summary()}`);
  });

  it(
    'raw HTTP: bad request lines, methods, headers, bodies and content lengths on every /api/v1 route get a 4xx or a close, never a 5xx or a hang',
    async () => {
      const routes: [string, string][] = [
        ['GET', '/api/v1/health'],
        ['GET', '/api/v1/metrics'],
        ['POST', '/api/v1/auth/dev-token'],
        ['POST', '/api/v1/sensors'],
        ['GET', '/api/v1/sensors'],
        ['GET', '/api/v1/sensors/:id'],
        ['PATCH', '/api/v1/sensors/:id'],
        ['DELETE', '/api/v1/sensors/:id'],
        ['POST', '/api/v1/locations'],
        ['GET', '/api/v1/locations'],
        ['GET', '/api/v1/locations/:id'],
        ['PATCH', '/api/v1/locations/:id'],
        ['DELETE', '/api/v1/locations/:id'],
        ['POST', '/api/v1/readings'],
        ['GET', '/api/v1/readings'],
        ['POST', '/api/v1/notifications'],
        ['GET', '/api/v1/notifications'],
        ['PATCH', '/api/v1/notifications/:id/read'],
        ['DELETE', '/api/v1/notifications/:id'],
        ['GET', '/api/v1/alarms'],
        ['GET', '/api/v1/alarms/counts'],
        ['POST', '/api/v1/alarms/:id/ack'],
        ['POST', '/api/v1/alarms/:id/clear'],
        ['POST', '/api/v1/publish'],
        ['GET', '/api/v1/ws/stats'],
        ['GET', '/api/v1/ws/stats/:topic'],
        ['POST', '/api/v1/ws/test-event'],
      ];
      const badIds = [
        '%zz',
        '%',
        '%00',
        '..%2f..%2fetc',
        repeat('a', 5000),
        '%E0%A4%A',
        'a%20b',
        '__proto__',
        'constructor',
        '%F0%9F%92%A9',
        '.',
        '-',
        '~',
        '[]',
      ];
      const badQueries = [
        '?%zz',
        '?limit=-1',
        '?limit=abc',
        '?limit=1e309',
        '?limit=99999999999999999999',
        '?sensorId[]=a&metric[x]=b',
        '?from=notadate&to=%zz',
        '?bucket=1y&agg=median',
        '?__proto__[admin]=1',
        '?unread=maybe',
        `?sensorId=${repeat('s', 3000)}`,
        '?cursor=%FF%FE',
        '?&&&==&',
      ];
      const badBodies = [
        '{',
        '{"name":',
        '[',
        'nul',
        '{"a":1,}',
        "{'name':'x'}",
        '\ufeff{"name":"x"}',
        '{"name":"x"',
        'undefined',
        '1e',
        '"unterminated',
        'null',
        '1',
        '"a string"',
        'true',
        '[]',
        '{"name":1,"type":[]}',
        '{"__proto__":{"role":"admin"}}',
        '{"constructor":{"prototype":{"polluted":1}}}',
        '{"thresholds":"hot","name":false}',
        '{"userIds":"u","title":1,"message":[]}',
        '{"sensorId":"a b","metric":"","value":"NaN"}',
        '{"sensorId":"a","metric":"b","value":1e400}',
        '{"topic":7,"event":{},"data":1}',
        '{"sub":123,"role":"root","expiresIn":-5}',
        '{"message":{"$gt":""},"topic":[]}',
      ];
      /** Valid JSON, nested deep (15-30 KB, far under the body limit): validation must refuse it like any other bad body. */
      const deepBodies = [
        `${repeat('[', 5000)}${repeat(']', 5000)}`,
        `${repeat('{"a":', 3000)}1${repeat('}', 3000)}`,
        `{"name":"x","type":"y","thresholds":${repeat('{"min":', 4000)}1${repeat('}', 4000)}}`,
      ];
      const contentTypes = [
        'application/json',
        'text/plain',
        'application/json; charset=utf-7',
        'multipart/form-data; boundary=x',
        'application/x-www-form-urlencoded',
        '',
        'application/json\x01',
      ];
      const authHeaders = () => {
        const bad = rng.pick(badTokens());
        return rng.pick([
          { header: `Authorization: Bearer ${adminToken}\r\n` },
          { header: `Authorization: Bearer ${userToken}\r\n` },
          { header: '' },
          { header: `Authorization: Bearer ${bad.token}\r\n`, token: bad.token },
          { header: 'Authorization: Bearer\r\n' },
          { header: 'Authorization: Basic dXNlcjpwYXNz\r\n' },
          { header: `Authorization: bearer  ${bad.token}  \r\n`, token: bad.token },
          { header: `Authorization: Bearer ${adminToken}\r\nAuthorization: Bearer ${bad.token}\r\n`, token: bad.token },
        ]);
      };

      interface HttpCase {
        kind: string;
        chunks: (string | Buffer)[];
        token?: string;
      }
      const cases: HttpCase[] = [];
      const request = (method: string, path: string, headers: string, body = '') =>
        `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}${body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`;
      const route = () => {
        const [method, template] = rng.pick(routes);
        const path = template.replace(':id', rng.pick(badIds)).replace(':topic', rng.pick(badIds));
        return { method, path };
      };

      // Bad bodies on every route, with every kind of content type and authorization.
      for (let i = 0; i < 420; i++) {
        const { method, path } = route();
        const auth = authHeaders();
        const type = rng.pick(contentTypes);
        cases.push({
          kind: 'http-bad-json-body',
          chunks: [request(method, path, `${auth.header}${type ? `Content-Type: ${type}\r\n` : ''}`, rng.pick(badBodies))],
          token: auth.token,
        });
      }
      // Few: today each one logs a stack trace thousands of frames deep.
      for (let i = 0; i < 12; i++) {
        const [method, template] = rng.pick(routes.filter(([m]) => m === 'POST' || m === 'PATCH'));
        const path = template.replace(':id', 'nope');
        cases.push({
          kind: 'http-deep-nesting-body',
          chunks: [request(method, path, `Authorization: Bearer ${adminToken}\r\nContent-Type: application/json\r\n`, rng.pick(deepBodies))],
        });
      }
      // Bad ids and query strings on every route.
      for (let i = 0; i < 260; i++) {
        const [method, template] = rng.pick(routes);
        const auth = authHeaders();
        const path = `${template.replace(':id', rng.pick(badIds)).replace(':topic', rng.pick(badIds))}${rng.pick(badQueries)}`;
        cases.push({ kind: 'http-bad-path-or-query', chunks: [request(method, path, auth.header)], token: auth.token });
      }
      // Content-Length and Transfer-Encoding that lie.
      const lengthLies = (body: string) => [
        `Content-Length: ${Buffer.byteLength(body) + 50}\r\n`,
        `Content-Length: ${Math.max(0, Buffer.byteLength(body) - 3)}\r\n`,
        'Content-Length: -1\r\n',
        'Content-Length: abc\r\n',
        'Content-Length: 5\r\nContent-Length: 6\r\n',
        'Content-Length: 99999999999999999999\r\n',
        `Content-Length: ${Buffer.byteLength(body)}\r\nTransfer-Encoding: chunked\r\n`,
        'Transfer-Encoding: chunked\r\n',
        'Transfer-Encoding: gzip, chunked\r\n',
        'Transfer-Encoding: xchunked\r\n',
        'Content-Encoding: gzip\r\n',
        'Content-Encoding: br\r\n',
      ];
      for (let i = 0; i < 260; i++) {
        const { method, path } = route();
        const body = rng.pick(['{"name":"x","type":"y"}', '{}', rng.string(40), 'zz\r\nabc\r\n0\r\n\r\n', '5\r\nab\r\n']);
        const lie = rng.pick(lengthLies(body));
        const text = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/json\r\n${lie}\r\n${body}`;
        cases.push({ kind: 'http-bad-content-length', chunks: [text] });
      }
      // Truncated bodies: the head promises more than ever comes, then the client half-closes.
      for (let i = 0; i < 120; i++) {
        const { method, path } = route();
        const body = '{"name":"sensor","type":"temperature","unit":"C"}';
        const cut = rng.int(body.length);
        cases.push({
          kind: 'http-truncated-body',
          chunks: [
            `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, cut)}`,
          ],
        });
      }
      // Request lines that are not HTTP.
      const lines = [
        'GET\r\n\r\n',
        'GET /\r\n\r\n',
        'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
        'GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n',
        ' GET / HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET  /api/v1/health  HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET http://evil.example/api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET * HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET //%zz HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET /api/v1/%zz/%zz HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET /api/v1/health HTTP/1.1\r\n\r\n',
        'GET /api/v1/health HTTP/1.0\r\n\r\n',
        `GET /${repeat('a', 70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        'GET /api/v1/health HTTP/1.1\nHost: x\n\n',
        'GET /api/v1/health HTTP/1.1\rHost: x\r\r',
        '\r\n\r\n\r\n',
        'HTTP/1.1 200 OK\r\n\r\n',
        'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      ];
      for (let i = 0; i < 140; i++) {
        const choice = rng.int(lines.length + 2);
        const chunk =
          choice < lines.length
            ? lines[choice]!
            : choice === lines.length
              ? rng.bytes(1 + rng.int(300))
              : Buffer.concat([Buffer.from('GET /'), rng.bytes(40), Buffer.from(' HTTP/1.1\r\n\r\n')]);
        cases.push({ kind: 'http-bad-request-line', chunks: [chunk] });
      }
      // Methods nobody routes.
      const methods = [
        'FOO',
        'get',
        'CONNECT',
        'TRACE',
        'PROPFIND',
        'BREW',
        'G E T',
        repeat('M', 100),
        'PURGE',
        'OPTIONS',
        'SEARCH',
        'QUERY',
        'MKCOL',
        'LINK',
        'PUT',
        'HEAD',
      ];
      for (let i = 0; i < 140; i++) {
        const { path } = route();
        cases.push({
          kind: 'http-bad-method',
          chunks: [
            request(rng.pick(methods), path, `Authorization: Bearer ${adminToken}\r\nOrigin: http://evil.example\r\nAccess-Control-Request-Method: DELETE\r\n`),
          ],
        });
      }
      // Headers that break the limits or the grammar.
      const headerAbuse = () =>
        rng.pick([
          `X-Huge: ${repeat('h', 20_000)}\r\n`,
          Array.from({ length: 2000 }, (_, k) => `X-Many-${k}: v\r\n`).join(''),
          'Bad Header: x\r\n',
          'X\x00Nul: y\r\n',
          ': empty-name\r\n',
          'NoColonAtAll\r\n',
          'X-Folded: a\r\n  folded-continuation\r\n',
          'X-Ctl: a\x7fb\x01c\r\n',
          `Cookie: ${repeat('c=1; ', 3000)}\r\n`,
          'Host: \r\nHost: other\r\n',
          `Authorization: Bearer ${repeat('t', 17_000)}\r\n`,
          'Content-Type: application/json\r\nContent-Type: text/plain\r\n',
          'X-Forwarded-For: not-an-ip, ::::, 999.999.999.999\r\n',
          `Origin: ${repeat('o', 9000)}\r\n`,
        ]);
      for (let i = 0; i < 220; i++) {
        const { method, path } = route();
        cases.push({ kind: 'http-bad-headers', chunks: [request(method, path, headerAbuse())] });
      }
      // Bad tokens of every kind on authenticated routes.
      for (let i = 0; i < 200; i++) {
        const [method, template] = rng.pick(routes.filter(([, p]) => !p.endsWith('health') && !p.endsWith('metrics') && !p.endsWith('dev-token')));
        const bad = rng.pick(badTokens());
        cases.push({
          kind: 'http-bad-token',
          chunks: [request(method, template.replace(':id', 'nope').replace(':topic', 'general'), `Authorization: Bearer ${bad.token}\r\n`)],
          token: bad.token,
        });
      }

      const failures: string[] = [];
      const deadline = Date.now() + SECTION_BUDGET_MS;
      const ran = await runPool(cases, 16, deadline, async (one, index) => {
        tally.add(one.kind);
        const reply = await rawExchange(port, one.chunks);
        httpReplies.push({ where: where(one.kind, index), sent: one.chunks.map(String).join('').slice(0, 200), reply, token: one.token });
        if (reply.status !== null && reply.status >= 400 && reply.status < 500) bump(expected.httpRefused, String(reply.status));
        if (reply.timedOut)
          failures.push(`${where(one.kind, index)}: no answer and no close within 2 s: ${JSON.stringify(one.chunks.map(String).join('').slice(0, 160))}`);
        else if (reply.status !== null && reply.status >= 500)
          failures.push(
            `${where(one.kind, index)}: ${reply.status}: ${JSON.stringify(one.chunks.map(String).join('').slice(0, 160))} -> ${reply.text.slice(0, 300)}`,
          );
      });
      expect(ran).toBe(cases.length);
      expect(failures).toEqual([]);
      await expectHealthy();
    },
    SECTION_TIMEOUT_MS,
  );

  it('raw HTTP: 401 and 403 bodies carry the fixed message of their code, never library text or the token sent', () => {
    const leaks: string[] = [];
    for (const { where: at, reply, token } of httpReplies) {
      if (reply.status !== 401 && reply.status !== 403) continue;
      const body = reply.text.split('\r\n\r\n').slice(1).join('');
      let parsed: { code?: string; message?: string } = {};
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        leaks.push(`${at}: not JSON: ${body.slice(0, 200)}`);
        continue;
      }
      const fixed = ERROR_MESSAGES[parsed.code as ErrorCode];
      if (fixed === undefined || parsed.message !== fixed) leaks.push(`${at}: ${body.slice(0, 200)}`);
      else if (token !== undefined && token.length > 3 && body.includes(token)) leaks.push(`${at}: echoes the token: ${body.slice(0, 200)}`);
    }
    expect(httpReplies.some(({ reply }) => reply.status === 401)).toBe(true);
    expect(leaks.slice(0, 10)).toEqual([]);
  });

  it(
    'Socket.IO over websocket: bad CONNECT packets and tokens are refused with a code, malformed packets close only their own connection, bad event payloads get an error ack, unknown events UNKNOWN_EVENT',
    async () => {
      const deadline = Date.now() + SECTION_BUDGET_MS;
      const failures: string[] = [];

      // 1. CONNECT packets with bad auth, each on its own transport.
      interface ConnectCase {
        kind: string;
        auth: string;
        code?: string;
      }
      const connectCases: ConnectCase[] = [];
      for (let i = 0; i < 220; i++) {
        const bad = rng.pick(badTokens());
        connectCases.push(
          rng.pick<ConnectCase>([
            { kind: 'sio-connect-bad-token', auth: JSON.stringify({ token: bad.token }), code: bad.code },
            { kind: 'sio-connect-no-token', auth: '', code: 'TOKEN_MISSING' },
            { kind: 'sio-connect-no-token', auth: JSON.stringify({ token: '' }), code: 'TOKEN_MISSING' },
            { kind: 'sio-connect-no-token', auth: JSON.stringify({ token: rng.pick([1, true, null, [], {}]) }), code: 'TOKEN_MISSING' },
            { kind: 'sio-connect-bad-auth', auth: rng.pick(['"just a string"', '[1,2]', '{', '{"token":', 'null', '7', `{"token":"${repeat('x', 70_000)}"}`]) },
            { kind: 'sio-connect-wrong-namespace', auth: rng.pick(['admin', 'nope', repeat('n', 300), '%zz', '..']) },
          ]),
        );
      }
      await runPool(connectCases, 8, deadline, async (one, index) => {
        tally.add(one.kind);
        const raw = await RawSocketIo.open(gateway.url);
        if (!raw) return void failures.push(`${where(one.kind, index)}: transport refused`);
        try {
          if (one.kind === 'sio-connect-wrong-namespace') {
            raw.send(`40/${one.auth},${JSON.stringify({ token: userToken })}`);
            const answer = await raw.waitFor((frame) => frame.startsWith('44') || frame.startsWith('40'), 3_000);
            if (answer === null && !raw.closed) failures.push(`${where(one.kind, index)}: no answer`);
            else if (answer?.startsWith('40')) failures.push(`${where(one.kind, index)}: connected to a namespace that does not exist: ${answer}`);
            return;
          }
          const answer = await raw.connect(one.auth);
          if (answer?.startsWith('40')) return void failures.push(`${where(one.kind, index)}: connected with auth ${one.auth.slice(0, 80)}`);
          if (answer === null) {
            // A CONNECT that is not a packet at all closes the transport (parse error); anything else must be answered.
            if (!raw.closed || one.kind !== 'sio-connect-bad-auth')
              failures.push(`${where(one.kind, index)}: neither answered nor closed for auth ${one.auth.slice(0, 80)}`);
            return;
          }
          if (one.kind === 'sio-connect-bad-auth') return; // refused before (or instead of) the token check
          const data = (JSON.parse(answer.slice(2)) as { data?: { code?: string } }).data;
          expected.socketioRefusals += 1;
          if (one.code) {
            if (data?.code !== one.code) failures.push(`${where(one.kind, index)}: expected ${one.code}, got ${answer.slice(0, 200)}`);
            else bump(expected.socketioHandshake, one.code);
          }
        } finally {
          raw.close();
        }
      });

      // 2. Events with bad payloads, and unknown events, on connected sockets: every one must be acked.
      interface EventCase {
        kind: string;
        frame: (id: number) => string;
        /** 'error': `{ok:false, error:{code in ERROR_ACK_CODES}}`; 'unknown': `{ok:false, error:{code:'UNKNOWN_EVENT'}}`. */
        expect: 'error' | 'unknown';
      }
      const ERROR_ACK_CODES = [
        'VALIDATION_FAILED',
        'UNKNOWN_TOPIC',
        'FORBIDDEN',
        'TOKEN_INVALID',
        'TOKEN_EXPIRED',
        'TOKEN_MISSING',
        'NOT_FOUND',
        'TOO_MANY_TOPICS',
        'BAD_REQUEST',
      ];
      const event =
        (name: string, ...args: unknown[]) =>
        (id: number) =>
          `42${id}${JSON.stringify([name, ...args])}`;
      const badTopic = () =>
        rng.pick<unknown>([
          undefined,
          null,
          1,
          '',
          ' ',
          repeat('t', 200),
          'nope',
          'system',
          'sensor:',
          'sensor:bad id!',
          'sensor:%zz',
          '__proto__',
          ['general'],
          { topic: 'general' },
          'general\u0000',
          'user:someone-else',
        ]);
      // Not null: an optional field sent as null is absent, which is a valid subscribe.
      const badBatchMs = () => rng.pick<unknown>([0, -1, 1001, 1.5, 'fast', [], {}, Number.MAX_SAFE_INTEGER, '50']);
      const otherUsersToken = gateway.token(`${RUN}-other`);
      const eventCases: EventCase[] = [];
      for (let i = 0; i < 900; i++) {
        const bad = rng.pick(badTokens());
        eventCases.push(
          rng.pick<EventCase>([
            { kind: 'sio-subscribe-bad-payload', frame: event('subscribe', { topic: badTopic() }), expect: 'error' },
            { kind: 'sio-subscribe-bad-payload', frame: event('subscribe', { topic: 'readings', batchMs: badBatchMs() }), expect: 'error' },
            {
              kind: 'sio-subscribe-bad-payload',
              frame: event('subscribe', rng.pick<unknown>(['general', 7, null, [], true, { topic: 'readings', batchMs: 'x' }])),
              expect: 'error',
            },
            {
              kind: 'sio-unsubscribe-bad-payload',
              frame: event('unsubscribe', rng.pick<unknown>([{ topic: badTopic() }, 'general', 0, null, []])),
              expect: 'error',
            },
            {
              kind: 'sio-mark-read-bad-payload',
              frame: event(
                'notification:mark_read',
                rng.pick<unknown>([
                  {},
                  { notificationId: 1 },
                  { notificationId: '' },
                  { notificationId: repeat('n', 1000) },
                  { notificationId: 'does-not-exist' },
                  'x',
                  null,
                  { notificationId: ['a'] },
                ]),
              ),
              expect: 'error',
            },
            {
              kind: 'sio-auth-refresh-bad-payload',
              frame: event(
                'auth:refresh',
                rng.pick<unknown>([{}, { token: 1 }, { token: '' }, { token: bad.token }, { token: otherUsersToken }, null, 'token']),
              ),
              expect: 'error',
            },
            {
              kind: 'sio-unknown-event',
              frame: event(
                rng.pick([
                  'hello',
                  'subscribe ',
                  'SUBSCRIBE',
                  'constructor',
                  'toString',
                  '__proto__',
                  repeat('e', 300),
                  'reading:new',
                  'authenticated',
                  'error',
                  'alarm:ack ',
                  `x${rng.string(8)}`,
                ]),
                { topic: 'general' },
              ),
              expect: 'unknown',
            },
            {
              kind: 'sio-unknown-event',
              frame: (id) => `42${id}${JSON.stringify([`evt-${rng.int(1e6)}`, ...Array.from({ length: rng.int(5) }, () => rng.string(10))])}`,
              expect: 'unknown',
            },
          ]),
        );
      }
      // Payloads nested 3000 deep (18 KB, under WS_MAX_PAYLOAD): validation must refuse them like any other bad payload.
      const deep = JSON.parse(`${repeat('{"topic":', 3000)}"general"${repeat('}', 3000)}`) as unknown;
      for (let i = 0; i < 15; i++) {
        eventCases.push({
          kind: 'sio-deep-nesting-payload',
          frame: event(rng.pick(['subscribe', 'unsubscribe', 'notification:mark_read', 'auth:refresh', 'alarm:ack', 'alarm:clear']), deep),
          expect: 'error',
        });
      }
      const batches: EventCase[][] = [];
      for (let i = 0; i < eventCases.length; i += 30) batches.push(eventCases.slice(i, i + 30));
      await runPool(batches, 4, deadline, async (batch, batchIndex) => {
        const raw = await RawSocketIo.open(gateway.url);
        if (!raw) return void failures.push(`[seed ${SEED}] event batch ${batchIndex}: transport refused`);
        try {
          const answer = await raw.connect(JSON.stringify({ token: userToken }));
          if (!answer?.startsWith('40')) return void failures.push(`[seed ${SEED}] event batch ${batchIndex}: CONNECT with a good token got ${answer}`);
          batch.forEach((one, k) => {
            tally.add(one.kind);
            raw.send(one.frame(k + 1));
          });
          // A good event last: its ack means the server has read everything before it.
          raw.send(`42999${JSON.stringify(['notification:mark_all_read', {}])}`);
          const sentinel = await raw.waitFor((frame) => frame.startsWith('43999['), 5_000);
          if (sentinel === null)
            return void failures.push(
              `[seed ${SEED}] event batch ${batchIndex}: the server never acked the good event after the batch (closed: ${raw.closed})`,
            );
          await sleep(50);
          batch.forEach((one, k) => {
            const at = `${where(one.kind, batchIndex * 30 + k)} ${one.frame(k + 1).slice(0, 120)}`;
            if (one.expect === 'unknown') expected.socketioUnknownEvents += 1;
            const ack = ackOf(raw.frames, k + 1) as { ok?: boolean; error?: { code?: string; message?: unknown } } | undefined;
            if (ack === undefined) return void failures.push(`${at}: no ack`);
            const codes = one.expect === 'unknown' ? ['UNKNOWN_EVENT'] : ERROR_ACK_CODES;
            if (ack.ok !== false || !codes.includes(ack.error?.code ?? '') || typeof ack.error?.message !== 'string')
              failures.push(`${at}: ack ${JSON.stringify(ack).slice(0, 200)}`);
          });
        } finally {
          raw.close();
        }
      });

      // 3. Packets that are not Socket.IO (or not Engine.IO): each may close its own connection, nothing more.
      const garbage = (): { kind: string; frames: (string | Buffer)[] } =>
        rng.pick<{ kind: string; frames: (string | Buffer)[] }>([
          { kind: 'eio-bad-packet-type', frames: [rng.pick(['7', '9xyz', 'x', '', '8', '\u0000', '5', '6', '3', '2probe', '1'])] },
          {
            kind: 'sio-bad-packet-type',
            frames: [rng.pick(['47["x"]', '4x', '49', '4', '48[1]', '4-1', '44{"message":"spoof"}', '43["orphan"]', '4399999999999999999999["x"]'])],
          },
          {
            kind: 'sio-bad-json',
            frames: [
              rng.pick([
                '42[',
                '42["subscribe",',
                '42{"a":1}',
                '42[]',
                '42[1,2]',
                '42[null]',
                '42["__proto__"]',
                '42["disconnect"]',
                '42["connect"]',
                '42"str"',
                `42${repeat('[', 5000)}${repeat(']', 5000)}`,
                '42["subscribe",{"topic":"general"}]trailing',
              ]),
            ],
          },
          {
            kind: 'sio-binary-mismatch',
            frames: rng.pick<(string | Buffer)[]>([
              ['451-["subscribe",{"_placeholder":true,"num":3}]', 'not a binary frame'],
              ['452-["subscribe",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', Buffer.from([1, 2, 3])],
              ['45-["subscribe",{"topic":"general"}]'],
              ['4599999-["subscribe",{"_placeholder":true,"num":0}]', Buffer.from([1])],
              ['451-["subscribe",{"_placeholder":"yes","num":"0"}]', Buffer.from([1])],
              [Buffer.from([0x04, 0xff, 0xfe])],
              ['461-[{"_placeholder":true,"num":0}]', Buffer.alloc(10)],
            ]),
          },
          { kind: 'sio-huge-payload', frames: [`42${JSON.stringify(['subscribe', { topic: repeat('x', 70_000 + rng.int(30_000)) }])}`] },
          {
            kind: 'sio-wrong-namespace-event',
            frames: [`42/${rng.pick(['admin', 'nope', ''])},1${JSON.stringify(['subscribe', { topic: 'general' }])}`, `41/${rng.pick(['admin', 'x'])},`],
          },
        ]);
      const garbageCases = Array.from({ length: 260 }, garbage);
      await runPool(garbageCases, 8, deadline, async (one, index) => {
        tally.add(one.kind);
        if (one.kind === 'sio-bad-packet-type' || one.kind === 'eio-bad-packet-type') expected.socketioParseErrors += 1;
        const raw = await RawSocketIo.open(gateway.url);
        if (!raw) return void failures.push(`${where(one.kind, index)}: transport refused`);
        try {
          const answer = await raw.connect(JSON.stringify({ token: userToken }));
          if (!answer?.startsWith('40')) return void failures.push(`${where(one.kind, index)}: CONNECT with a good token got ${answer}`);
          for (const frame of one.frames) raw.send(frame);
          raw.send(`42999${JSON.stringify(['notification:mark_all_read', {}])}`);
          const sentinel = await raw.waitFor((frame) => frame.startsWith('43999['), 3_000);
          if (sentinel === null && !raw.closed)
            failures.push(`${where(one.kind, index)}: neither closed nor served after ${JSON.stringify(one.frames.map(String)).slice(0, 160)}`);
        } finally {
          raw.close();
        }
      });

      expect(failures.slice(0, 30)).toEqual([]);
      await expectHealthy();
    },
    SECTION_TIMEOUT_MS,
  );

  it(
    'Socket.IO over polling: bad Engine.IO parameters, bodies and sessions get a 4xx, never a 5xx or a hang',
    async () => {
      const base = `${gateway.url}/socket.io/`;
      const failures: string[] = [];
      const call = async (kind: string, index: number, path: string, init: RequestInit = {}): Promise<{ status: number; text: string } | null> => {
        try {
          const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(3_000) });
          const text = await response.text();
          if (response.status >= 500)
            failures.push(`${where(kind, index)}: ${init.method ?? 'GET'} ${path.slice(0, 100)} -> ${response.status} ${text.slice(0, 200)}`);
          return { status: response.status, text };
        } catch (error) {
          failures.push(`${where(kind, index)}: ${init.method ?? 'GET'} ${path.slice(0, 100)} -> ${(error as Error).message}`);
          return null;
        }
      };
      const open = async (kind: string, index: number): Promise<string | null> => {
        const reply = await call(kind, index, '?EIO=4&transport=polling');
        const sid = reply ? /"sid":"([^"]+)"/.exec(reply.text)?.[1] : undefined;
        if (!sid) failures.push(`${where(kind, index)}: no session from a good open: ${reply?.text.slice(0, 100)}`);
        return sid ?? null;
      };
      const sessionless = [
        '?EIO=3&transport=polling',
        '?EIO=5&transport=polling',
        '?EIO=abc&transport=polling',
        '?transport=polling',
        '?EIO=4&transport=foo',
        '?EIO=4&transport=websocket',
        '?EIO=4&transport=polling&sid=nope',
        '?EIO=4&transport=polling&j=0',
        '?EIO=4&transport=polling&b64=1&sid=%zz',
        '?EIO=%zz&transport=%zz',
        `?EIO=4&transport=polling&sid=${repeat('s', 5000)}`,
        '?EIO=4&transport=polling&transport=websocket',
      ];
      const bodies = (): { kind: string; body: string | Buffer; contentType?: string; token?: { code?: string } } => {
        const bad = rng.pick(badTokens());
        return rng.pick([
          { kind: 'polling-garbage-body', body: rng.string(1 + rng.int(200)) },
          {
            kind: 'polling-garbage-body',
            body: rng.pick(['4', '41', '49', '', '\x1e\x1e', 'bnot base64!!', '6', '5', '40{', '42["subscribe",{"topic":"general"}]', '4\x1e4\x1e4']),
          },
          { kind: 'polling-binary-body', body: rng.bytes(1 + rng.int(100)), contentType: 'application/octet-stream' },
          { kind: 'polling-huge-body', body: `42${JSON.stringify(['subscribe', { topic: repeat('p', 100_000) }])}` },
          { kind: 'polling-bad-token', body: `40${JSON.stringify({ token: bad.token })}`, token: { code: bad.code } },
        ]);
      };
      // Every choice is drawn here, before any request: the pool's timing must not change what the seed produces.
      const plans = Array.from({ length: 150 }, (_, index) =>
        index % 3 === 0
          ? { sessionless: { path: rng.pick(sessionless), method: rng.pick(['GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH']) }, steps: [], overlap: false }
          : { sessionless: null, steps: [bodies(), bodies()], overlap: rng.int(4) === 0 },
      );
      const deadline = Date.now() + SECTION_BUDGET_MS;
      await runPool(plans, 8, deadline, async (plan, index) => {
        if (plan.sessionless) {
          const { path, method } = plan.sessionless;
          tally.add('polling-bad-query');
          const answer = await call('polling-bad-query', index, path, method === 'GET' ? {} : { method, body: '40' });
          if (answer !== null && answer.status >= 400 && answer.status < 500) expected.engineIoErrors += 1;
          return;
        }
        const sid = await open('polling-session', index);
        if (!sid) return;
        const session = `?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
        try {
          for (const one of plan.steps) {
            tally.add(one.kind);
            const posted = await call(one.kind, index, session, {
              method: 'POST',
              body: one.body,
              headers: { 'content-type': one.contentType ?? 'text/plain;charset=UTF-8' },
            });
            if (posted === null || posted.status !== 200) break; // the session is gone: what follows would only repeat 400s
            if (one.token) {
              const answer = await call(one.kind, index, session);
              if (answer === null) break;
              if (answer.text.startsWith('40') && answer.text.includes('"sid"'))
                failures.push(`${where(one.kind, index)}: connected with a bad token over polling`);
              const refused = /^44(\{.*\})/.exec(answer.text)?.[1];
              if (refused) {
                expected.socketioRefusals += 1;
                const code = (JSON.parse(refused) as { data?: { code?: string } }).data?.code;
                if (one.token.code) {
                  if (code === one.token.code) bump(expected.socketioHandshake, code);
                  else failures.push(`${where(one.kind, index)}: expected ${one.token.code}, got ${answer.text.slice(0, 200)}`);
                }
              }
            }
          }
          // Two GETs at once on one session: Engine.IO must refuse the overlap, not hang.
          if (plan.overlap) {
            tally.add('polling-overlapping-get');
            await Promise.all([call('polling-overlapping-get', index, session), call('polling-overlapping-get', index, session)]);
          }
        } finally {
          // Close the session (packet 1), so it holds nothing after this case.
          await call('polling-close', index, session, { method: 'POST', body: '1', headers: { 'content-type': 'text/plain;charset=UTF-8' } }).catch(() => null);
        }
      });
      // A fetch aborted by its own 3 s timeout is a hang: the server answered neither way.
      expect(failures.slice(0, 30)).toEqual([]);
      await expectHealthy();
    },
    SECTION_TIMEOUT_MS,
  );

  it(
    '/ws frames: binary, non-JSON, wrong types and deep nesting each get one error frame; oversized and protocol-violating frames close only their own connection',
    async () => {
      const deadline = Date.now() + SECTION_BUDGET_MS;
      const failures: string[] = [];
      const frame = (): { kind: string; data: string | Buffer } =>
        rng.pick([
          { kind: 'ws-binary-frame', data: rng.bytes(1 + rng.int(500)) },
          { kind: 'ws-binary-frame', data: Buffer.from('{"type":"ping"}') },
          { kind: 'ws-non-json', data: rng.pick(['', ' ', 'hello', '{', '[', '{"type":', 'ping', '\u0000', '{"type":"ping"', rng.string(1 + rng.int(300))]) },
          {
            kind: 'ws-wrong-types',
            data: rng.pick([
              'null',
              '1',
              'true',
              '"ping"',
              '[]',
              '[{"type":"ping"}]',
              '{}',
              '{"type":1}',
              '{"type":"sub"}',
              '{"type":"sub","topic":5}',
              '{"type":"unsub","topic":[]}',
              '{"type":"SUB","topic":"general"}',
              '{"type":"pong"}',
              '{"type":"__proto__"}',
              '{"topic":"general"}',
              `{"type":"sub","topic":"${repeat('t', 200)}"}`,
            ]),
          },
          {
            kind: 'ws-bad-topic',
            data: JSON.stringify({
              type: rng.pick(['sub', 'unsub']),
              topic: rng.pick(['nope', 'system', 'sensor:', 'sensor:bad id', 'user:victim', '', ' ', '%zz']),
            }),
          },
          {
            kind: 'ws-deep-nesting',
            data: rng.pick([
              `${repeat('[', 30_000)}${repeat(']', 30_000)}`,
              `${repeat('{"a":', 10_000)}1${repeat('}', 10_000)}`,
              `{"type":"sub","topic":${repeat('[', 20_000)}${repeat(']', 20_000)}}`,
              repeat('[', 60_000),
            ]),
          },
        ]);
      const batches = Array.from({ length: 12 }, () => ({ path: rng.pick(['/ws', '/api/v1/ws']), frames: Array.from({ length: 80 }, frame) }));
      await runPool(batches, 3, deadline, async ({ path, frames: batch }, batchIndex) => {
        let ws: PlainClient;
        try {
          ws = await connectPlain(wsUrl(gateway.url, path, `token=${userToken}`));
        } catch (error) {
          return void failures.push(`[seed ${SEED}] ws batch ${batchIndex}: a good client could not connect: ${(error as Error).message}`);
        }
        const before = ws.messages.length;
        for (const one of batch) {
          tally.add(one.kind);
          if (one.kind !== 'ws-bad-topic') expected.wsUnknownFrames += 1;
          ws.ws.send(one.data, { binary: Buffer.isBuffer(one.data) });
        }
        ws.send({ type: 'ping' });
        const pong = await Promise.race([ws.next((m) => m.type === 'pong'), sleep(5_000).then(() => null)]);
        if (pong === null) return void failures.push(`[seed ${SEED}] ws batch ${batchIndex}: no pong after the batch (state ${ws.ws.readyState})`);
        const replies = ws.messages.slice(before, -1);
        if (replies.length !== batch.length) failures.push(`[seed ${SEED}] ws batch ${batchIndex}: ${batch.length} bad frames, ${replies.length} replies`);
        replies.forEach((reply, k) => {
          if (reply.type !== 'error' || typeof reply.code !== 'string' || typeof reply.message !== 'string')
            failures.push(`${where(batch[k]?.kind ?? '?', batchIndex * 80 + k)}: reply ${JSON.stringify(reply).slice(0, 200)}`);
        });
        ws.ws.terminate();
      });

      // Oversized frames: the connection closes (1009), nothing else.
      for (let i = 0; i < 10 && Date.now() < deadline; i++) {
        tally.add('ws-oversized-frame');
        const ws = await connectPlain(wsUrl(gateway.url, '/ws', `token=${userToken}`));
        ws.ws.send(rng.int(2) === 0 ? repeat('x', 70_000 + rng.int(100_000)) : rng.bytes(70_000));
        const closed = await Promise.race([ws.closed, sleep(3_000).then(() => null)]);
        if (closed === null) failures.push(`${where('ws-oversized-frame', i)}: not closed`);
        else expected.wsTooLarge += 1;
      }

      // Frames that break RFC 6455, after a good handshake over raw TCP.
      const key = Buffer.from(rng.bytes(16)).toString('base64');
      const handshake = `GET /ws?token=${userToken} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
      const masked = (opcode: number, payload: Buffer, { fin = true, rsv = 0, mask = true } = {}) => {
        const first = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
        const length =
          payload.length < 126
            ? Buffer.from([(mask ? 0x80 : 0) | payload.length])
            : Buffer.concat([Buffer.from([(mask ? 0x80 : 0) | 126]), u16(payload.length)]);
        const maskKey = Buffer.from([1, 2, 3, 4]);
        const body = mask ? Buffer.from(payload.map((b, i) => b ^ maskKey[i % 4]!)) : payload;
        return Buffer.concat([Buffer.from([first]), length, mask ? maskKey : Buffer.alloc(0), body]);
      };
      const protocolViolations = (): Buffer => {
        const text = Buffer.from('{"type":"ping"}');
        return rng.pick([
          masked(1, text, { mask: false }),
          masked(1, text, { rsv: 4 }),
          masked(3, text),
          masked(0xb, text),
          masked(9, text, { fin: false }),
          masked(9, Buffer.alloc(126, 1)),
          masked(8, u16(999)),
          masked(8, Buffer.concat([u16(1000), Buffer.from([0xff, 0xfe])])),
          masked(1, Buffer.from([0xc3, 0x28, 0xa0, 0xa1])),
          masked(0, text),
          masked(1, text, { fin: false }),
          Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
          Buffer.from([0x81, 0xfe]),
          rng.bytes(1 + rng.int(64)),
        ]);
      };
      const violations = Array.from({ length: 120 }, () => [protocolViolations(), protocolViolations()]);
      await runPool(violations, 4, deadline, async (frames, index) => {
        tally.add('ws-protocol-violation');
        expected.wsProtocolViolations += 1;
        // Half-closed after the frames: a frame cut short then ends with the connection instead of waiting for its rest.
        const reply = await rawExchange(port, [handshake, ...frames], { timeoutMs: 2_000 });
        if (reply.status !== 101) failures.push(`${where('ws-protocol-violation', index)}: handshake answered ${reply.status}: ${reply.text.slice(0, 120)}`);
        else if (reply.timedOut) failures.push(`${where('ws-protocol-violation', index)}: still open 2 s after bad frames and the client's FIN`);
      });

      expect(failures.slice(0, 30)).toEqual([]);
      await expectHealthy();
    },
    SECTION_TIMEOUT_MS,
  );

  it(
    'MQTT through real clients: bad topics and payloads, NaN/Infinity/strings, bad ts, non-UTF-8, retained, QoS 2 and unknown sensors past MAX_SENSORS are dropped and counted',
    async () => {
      // No device may stop ingestion, even for a moment: the gateway's own MQTT session is watched throughout.
      const outages: string[] = [];
      const watcher = setInterval(() => {
        void fetch(`${gateway.url}/api/v1/health`)
          .then(async (response) => {
            if (response.status !== 200) outages.push(JSON.stringify(await response.json()));
          })
          .catch(() => undefined);
      }, 100);
      try {
        const devices = await Promise.all(Array.from({ length: 12 }, (_, i) => device(gateway.mqttUrl, `${RUN}-dev-${i}`)));
        // Known sensors first (all under MAX_SENSORS), so the payload cases below are refused for their payload alone.
        for (let i = 0; i < 10; i++) knownSensors.push(`${RUN}-k${i}`);
        const acceptedBefore = metricSum(await (await fetch(`${gateway.url}/api/v1/metrics`)).text(), 'mqtt_messages_accepted_total');
        await Promise.all(knownSensors.map((sensor, i) => devices[i % devices.length]!.publishAsync(`sensors/${sensor}/temp`, '20', { qos: 1 })));
        await eventually(async () =>
          expect(
            metricSum(await (await fetch(`${gateway.url}/api/v1/metrics`)).text(), 'mqtt_messages_accepted_total') - acceptedBefore,
          ).toBeGreaterThanOrEqual(knownSensors.length),
        );

        const known = () => `sensors/${rng.pick(knownSensors)}/temp`;
        const future = Date.now() + 10 * 24 * 3600 * 1000;
        const cases = (): { kind: string; topic: string; payload: string | Buffer; reason?: string; options?: { qos?: 0 | 1 | 2; retain?: boolean } } =>
          rng.pick([
            {
              kind: 'mqtt-bad-topic',
              topic: `sensors/${rng.pick(['bad id!', repeat('i', 65), 'é', '%', 'a b', '$x', '..;'])}/temp`,
              payload: '1',
              reason: 'bad_topic',
            },
            {
              kind: 'mqtt-bad-topic',
              topic: `sensors/${rng.pick(knownSensors)}/${rng.pick(['t t', repeat('m', 65), 'µ', 'a*b'])}`,
              payload: '1',
              reason: 'bad_topic',
            },
            {
              kind: 'mqtt-not-a-number',
              topic: known(),
              payload: rng.pick(['hot', '', '{}', '{"value":"1"}', '{"value":null}', '[1]', '0x', '{bad json', '{"value":true}', rng.string(20, 'abcdefghij')]),
              reason: 'not_a_number',
            },
            {
              kind: 'mqtt-non-utf8',
              topic: known(),
              payload: rng.pick([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from([0xc3, 0x28]), Buffer.from([0x80, 0x81, 0x82])]),
              reason: 'not_a_number',
            },
            {
              kind: 'mqtt-not-finite',
              topic: known(),
              payload: rng.pick(['Infinity', '-Infinity', 'NaN', '+NaN', '1e400', '{"value":1e400}', '-1e999']),
              reason: 'not_finite',
            },
            {
              kind: 'mqtt-bad-unit',
              topic: known(),
              payload: rng.pick(['{"value":1,"unit":7}', '{"value":1,"unit":""}', `{"value":1,"unit":"${repeat('u', 17)}"}`, '{"value":1,"unit":["C"]}']),
              reason: 'bad_unit',
            },
            {
              kind: 'mqtt-bad-ts',
              topic: known(),
              payload: rng.pick([
                '{"value":1,"ts":12}',
                '{"value":1,"ts":-1}',
                '{"value":1,"ts":"yesterday"}',
                `{"value":1,"ts":${future}}`,
                '{"value":1,"ts":"2026-13-45T99:99:99Z"}',
                '{"value":1,"ts":1e400}',
                '{"value":1,"ts":[]}',
              ]),
              reason: 'bad_ts',
            },
            { kind: 'mqtt-too-large', topic: known(), payload: Buffer.alloc(2048 + rng.int(40_000), 0x31), reason: 'too_large' },
            { kind: 'mqtt-qos2', topic: known(), payload: rng.pick(['hot', 'NaN']), options: { qos: 2 } },
            { kind: 'mqtt-retained', topic: known(), payload: 'NaN', options: { retain: true, qos: 0 } },
            { kind: 'mqtt-outside-sensors', topic: rng.pick(['foo/bar', 'sensors/a', 'sensors/a/b/c', '$SYS/x', '/sensors/a/b']), payload: '1' },
            // Matches sensors/+/+ at the broker, but an id must have 1-64 characters.
            {
              kind: 'mqtt-empty-topic-level',
              topic: rng.pick(['sensors//temp', `sensors/${rng.pick(knownSensors)}/`, 'sensors//']),
              payload: '1',
              reason: 'bad_topic',
            },
          ]);
        /** The kinds the embedded broker refuses by closing the connection, and the reason it counts them under. */
        const BROKER_CLOSES = new Map([
          ['mqtt-bad-topic', 'bad_topic'],
          ['mqtt-empty-topic-level', 'bad_topic'],
          ['mqtt-outside-sensors', 'bad_topic'],
          ['mqtt-retained', 'retained'],
        ]);
        // Paced well under any per-device rate limit (12 devices, at most ~50 messages each per second).
        const all = Array.from({ length: 480 }, cases);

        const deadline = Date.now() + SECTION_BUDGET_MS;
        for (let i = 0; i < all.length && Date.now() < deadline; i += devices.length * 4) {
          await Promise.all(
            all.slice(i, i + devices.length * 4).map(async (one, k) => {
              tally.add(one.kind);
              // What the broker refuses by closing the client (a topic outside sensors/<id>/<metric>, empty levels
              // included, a retained message) goes from a device of its own: a shared device it closed would
              // leave every later case on it waiting for an ack that never comes.
              const own = BROKER_CLOSES.has(one.kind);
              const sender = own ? await device(gateway.mqttUrl, `${RUN}-once-${i + k}`).catch(() => null) : devices[k % devices.length]!;
              if (sender === null) return;
              const delivered = await settles(sender.publishAsync(one.topic, one.payload, { qos: 1, ...one.options }), own ? 300 : 2_000);
              // Not forced: a forced end drops what is still in the socket's buffer (a QoS 0 publish resolves when written).
              if (own) await settles(sender.endAsync(), 300);
              // The broker counts what it refuses itself (a publication it read, then closed the client for);
              // of the rest, only what it acknowledged reached the gateway.
              const reason = own ? BROKER_CLOSES.get(one.kind) : delivered ? one.reason : undefined;
              if (reason) {
                bump(expected.mqttRejected, reason);
                expected.mqttRejectedTotal += 1;
              }
            }),
          );
          await sleep(100);
        }
        // Unknown sensors past MAX_SENSORS: at most MAX_SENSORS - known are registered, the rest are refused and counted.
        const newcomers = 2 * MAX_SENSORS;
        for (let i = 0; i < newcomers; i += devices.length) {
          await Promise.all(
            devices.map((one, k) => (i + k < newcomers ? settles(one.publishAsync(`sensors/${RUN}-new${i + k}/temp`, '1', { qos: 1 })) : undefined)),
          );
          await sleep(50);
        }
        tally.add('mqtt-unknown-sensor-flood', newcomers);
        bump(expected.mqttRejected, 'sensor_limit', newcomers - (MAX_SENSORS - knownSensors.length));
        expected.mqttRejectedTotal += newcomers - (MAX_SENSORS - knownSensors.length);
        // New metrics on one known sensor past MAX_METRICS_PER_SENSOR (it has `temp` already).
        const metrics = 3 * MAX_METRICS_PER_SENSOR;
        for (let i = 0; i < metrics; i++) await settles(devices[i % devices.length]!.publishAsync(`sensors/${knownSensors[0]}/m${i}`, '1', { qos: 1 }));
        tally.add('mqtt-new-metric-flood', metrics);
        expected.mqttRejectedTotal += metrics - (MAX_METRICS_PER_SENSOR - 1);
      } finally {
        clearInterval(watcher);
        await closeAllDevices();
      }
      expect(outages.slice(0, 5)).toEqual([]);
      await expectHealthy();
    },
    SECTION_TIMEOUT_MS,
  );

  it(
    'raw MQTT bytes: malformed packets, wildcard publishes, bad protocol levels and lengths close only their own connection',
    async () => {
      const deadline = Date.now() + SECTION_BUDGET_MS;
      const good = () => mqttConnect(`${RUN}-raw-${rng.int(1e9)}`);
      const packets = (): { kind: string; bytes: Buffer[] } =>
        rng.pick([
          { kind: 'mqtt-raw-random-bytes', bytes: [rng.bytes(1 + rng.int(200))] },
          {
            kind: 'mqtt-raw-bad-connect',
            bytes: [
              rng.pick([
                mqttConnect('x', { protocol: 'MQTX' }),
                mqttConnect('x', { level: 5 }),
                mqttConnect('x', { level: 0 }),
                mqttConnect('x', { flags: 0x01 }),
                mqttConnect('x', { flags: 0x80 | 0x02 }),
                mqttConnect('x', { flags: 0x04 | 0x02 }),
                mqttConnect(repeat('c', 70_000)),
                mqttPacket(0x10, Buffer.alloc(0)),
                mqttPacket(0x11, rng.bytes(20)),
              ]),
            ],
          },
          {
            kind: 'mqtt-raw-bad-length',
            bytes: [Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]), Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00])].slice(0, 1 + rng.int(2)),
          },
          { kind: 'mqtt-raw-publish-before-connect', bytes: [mqttPublish(`sensors/${RUN}-x/temp`, '1')] },
          {
            kind: 'mqtt-raw-wildcard-publish',
            bytes: [good(), mqttPublish(rng.pick(['sensors/+/temp', 'sensors/#', '#', '+', 'sensors/a/+', 'sensors/+/+']), '1')],
          },
          {
            kind: 'mqtt-raw-bad-topic-bytes',
            bytes: [
              good(),
              mqttPublish(
                rng.pick([Buffer.from('sensors/a\u0000/b'), Buffer.from([0x73, 0xff, 0xfe, 0x2f, 0x61]), Buffer.alloc(0), Buffer.from('sensors/\ud800/x')]),
                '1',
              ),
            ],
          },
          {
            kind: 'mqtt-raw-bad-qos',
            bytes: [good(), mqttPublish(`sensors/${RUN}-q/temp`, '1', { header: 0x36 }), mqttPublish(`sensors/${RUN}-q/temp`, '1', { header: 0x3f })],
          },
          { kind: 'mqtt-raw-subscribe-everything', bytes: [good(), mqttSubscribe(rng.pick(['#', 'sensors/#', '$SYS/#', '+/+/+', 'sensors/+/+']), rng.int(4))] },
          { kind: 'mqtt-raw-second-connect', bytes: [good(), good()] },
          { kind: 'mqtt-raw-truncated', bytes: [good(), mqttPublish(`sensors/${RUN}-t/temp`, '123456').subarray(0, 8)] },
          { kind: 'mqtt-raw-huge-packet', bytes: [good(), mqttPublish(`sensors/${RUN}-h/temp`, Buffer.alloc(100_000 + rng.int(200_000), 0x31))] },
          { kind: 'mqtt-raw-retained', bytes: [good(), mqttPublish(`sensors/${RUN}-r/temp`, '1', { retain: true })] },
          {
            kind: 'mqtt-raw-unexpected-packet',
            bytes: [
              good(),
              rng.pick([
                Buffer.from([0x62, 0x02, 0x00, 0x01]),
                Buffer.from([0x20, 0x02, 0x00, 0x00]),
                Buffer.from([0xf0, 0x00]),
                Buffer.from([0x00, 0x00]),
                Buffer.from([0x90, 0x03, 0x00, 0x01, 0x00]),
              ]),
            ],
          },
        ]);
      // What must hold is that the broker, and the gateway's own session on it, outlive all of them (checked below).
      const ran = await runPool(Array.from({ length: 260 }, packets), 8, deadline, async (one) => {
        tally.add(one.kind);
        if (one.kind === 'mqtt-raw-bad-qos') expected.mqttMalformed += 1;
        // Half-closed after the bytes: the broker reads them all, then sees the end, so no case waits for a timeout.
        await rawExchange(brokerPort, one.bytes, { timeoutMs: 800 });
      });
      expect(ran).toBe(260);
      // The broker and the gateway's own MQTT session survived: a good reading still goes through.
      const sensor = await device(gateway.mqttUrl, `${RUN}-after-raw`);
      const acceptedBefore = metricSum(await (await fetch(`${gateway.url}/api/v1/metrics`)).text(), 'mqtt_messages_accepted_total');
      await sensor.publishAsync(`sensors/${knownSensors[1] ?? `${RUN}-k1`}/temp`, '21', { qos: 1 });
      await eventually(async () =>
        expect(metricSum(await (await fetch(`${gateway.url}/api/v1/metrics`)).text(), 'mqtt_messages_accepted_total')).toBeGreaterThan(acceptedBefore),
      );
      await closeAllDevices();
    },
    SECTION_TIMEOUT_MS,
  );

  it(
    'upgrade requests: bad paths and percent-encoding, versions, keys, methods, subprotocols, origins, tokens and query strings get an HTTP refusal, never a crash or a hang',
    async () => {
      const deadline = Date.now() + SECTION_BUDGET_MS;
      const failures: string[] = [];
      const WS_PATHS = ['/ws', '/api/v1/ws'];
      interface UpgradeCase {
        kind: string;
        path: string;
        method?: string;
        headers: Record<string, string | undefined>;
        /** The /ws path it targets, when it does (a refusal there is counted under protocol ws). */
        ws?: boolean;
        code?: string;
        /** A fully valid upgrade that must succeed (then the client closes it). */
        valid?: boolean;
      }
      const RFC7230_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
      const standard = () => ({
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': Buffer.from(rng.bytes(16)).toString('base64'),
        'Sec-WebSocket-Version': '13',
      });
      const cases: UpgradeCase[] = [];
      for (let i = 0; i < 700; i++) {
        const bad = rng.pick(badTokens());
        const wsPath = rng.pick(WS_PATHS);
        cases.push(
          rng.pick<UpgradeCase>([
            // The finding of issue #13: a URL that `new URL()` cannot parse, with Connection: Upgrade.
            { kind: 'upgrade-unparsable-url', path: rng.pick(['//%zz', '//%', '//%zz/ws', '//x:99999', '//[::1', '//%00']), headers: standard() },
            {
              kind: 'upgrade-unknown-path',
              path: rng.pick(['/', '/api/v1/health', '/wss', '/ws/extra', '/WS', '//ws', '/socket.io', '/%zz', '/ws%zz', '/%', '//a b']),
              headers: standard(),
            },
            {
              kind: 'upgrade-no-token',
              path: `${wsPath}${rng.pick(['', '?', '?token=', '?topics=general', '?token&token'])}`,
              headers: standard(),
              ws: true,
              code: 'TOKEN_MISSING',
            },
            { kind: 'upgrade-bad-token', path: `${wsPath}?token=${encodeURIComponent(bad.token)}`, headers: standard(), ws: true, code: bad.code },
            { kind: 'upgrade-bad-token', path: wsPath, headers: { ...standard(), Authorization: `Bearer ${bad.token}` }, ws: true, code: bad.code },
            // A malformed upgrade is refused before any token is read (README, Plain WebSocket): a token that is
            // not an RFC 7230 token (`{"sub":"x"}`) makes the header malformed, hence BAD_REQUEST, not the token's code.
            {
              kind: 'upgrade-bad-subprotocol',
              path: wsPath,
              headers: { ...standard(), 'Sec-WebSocket-Protocol': `bearer, ${bad.token}` },
              ws: true,
              code: RFC7230_TOKEN.test(bad.token) ? bad.code : 'BAD_REQUEST',
            },
            {
              kind: 'upgrade-bad-subprotocol',
              path: `${wsPath}?token=${userToken}`,
              headers: { ...standard(), 'Sec-WebSocket-Protocol': rng.pick(['', ',,,', 'a b', repeat('p', 5000), 'chat, superchat', '\u00e9']) },
              ws: true,
            },
            {
              kind: 'upgrade-bad-query',
              path: `${wsPath}?token=${userToken}&${rng.pick(['topics=system', 'topics=nope', 'channel=system', 'topics=sensor:bad%20id', `topics=${Array.from({ length: 300 }, (_, k) => `sensor:s${k}`).join(',')}`, 'topics=%zz', 'token=%zz', '%zz=%zz'])}`,
              headers: standard(),
              ws: true,
            },
            {
              kind: 'upgrade-bad-version',
              path: `${wsPath}?token=${userToken}`,
              headers: { ...standard(), 'Sec-WebSocket-Version': rng.pick(['12', 'abc', '8', '13, 14', '', '999999999999']) },
              ws: true,
            },
            {
              kind: 'upgrade-bad-key',
              path: `${wsPath}?token=${userToken}`,
              headers: { ...standard(), 'Sec-WebSocket-Key': rng.pick([undefined, '', 'short', '!!notbase64!!', repeat('A', 200)]) },
              ws: true,
            },
            {
              kind: 'upgrade-bad-method',
              path: `${wsPath}?token=${userToken}`,
              method: rng.pick(['POST', 'PUT', 'DELETE', 'OPTIONS', 'FOO']),
              headers: standard(),
              ws: true,
            },
            {
              kind: 'upgrade-bad-upgrade-header',
              path: `${wsPath}?token=${userToken}`,
              headers: { ...standard(), Upgrade: rng.pick(['h2c', 'websocket2', 'WebSocket, h2c', 'TLS/1.0', '']) },
              ws: true,
            },
            {
              kind: 'upgrade-foreign-origin',
              path: `${wsPath}?token=${userToken}`,
              headers: { ...standard(), Origin: rng.pick(['http://evil.example', 'null', 'file://', repeat('o', 3000)]) },
              ws: true,
              code: 'FORBIDDEN',
            },
            {
              kind: 'upgrade-socketio-bad-query',
              path: `/socket.io/?${rng.pick(['EIO=3&transport=websocket', 'EIO=5&transport=websocket', 'EIO=%zz&transport=websocket', 'transport=websocket', 'EIO=4&transport=polling', 'EIO=4&transport=foo', 'EIO=4&transport=websocket&sid=nope', 'EIO=4&transport=websocket&%zz', `EIO=4&transport=websocket&token=${encodeURIComponent(bad.token)}`])}`,
              headers: standard(),
            },
            {
              kind: 'upgrade-socketio-bad-headers',
              path: '/socket.io/?EIO=4&transport=websocket',
              headers: {
                ...standard(),
                ...rng.pick<Record<string, string | undefined>>([
                  { 'Sec-WebSocket-Version': '12' },
                  { 'Sec-WebSocket-Key': undefined },
                  { Upgrade: 'h2c' },
                  { Origin: 'http://evil.example' },
                ]),
              },
            },
            { kind: 'upgrade-valid', path: `${wsPath}?token=${userToken}`, headers: standard(), ws: true, valid: true },
          ]),
        );
      }
      await runPool(cases, 8, deadline, async (one, index) => {
        tally.add(one.kind);
        const lines = [`${one.method ?? 'GET'} ${one.path} HTTP/1.1`, 'Host: 127.0.0.1'];
        for (const [name, value] of Object.entries(one.headers)) if (value !== undefined) lines.push(`${name}: ${value}`);
        const reply = await rawExchange(port, [`${lines.join('\r\n')}\r\n\r\n`], { end: false, headOnly: true, timeoutMs: 1_500 });
        const at = `${where(one.kind, index)} ${one.method ?? 'GET'} ${one.path.slice(0, 80)}`;
        if (one.valid) {
          if (reply.status !== 101) failures.push(`${at}: a valid upgrade got ${reply.status ?? (reply.timedOut ? 'no answer' : 'a bare close')}`);
          return;
        }
        if (reply.status === 101) return; // some odd headers are legal (e.g. an unknown subprotocol is simply not chosen)
        if (one.ws) {
          expected.wsRefusals += 1;
          if (one.code) bump(expected.wsHandshake, one.code);
        }
        // Paths nobody serves get a bare close from Engine.IO after its upgrade timeout; every refusal of a path we serve is an HTTP answer.
        if (one.kind === 'upgrade-unknown-path') return;
        if (reply.status === null) failures.push(`${at}: ${reply.timedOut ? 'no answer within 1.5 s' : 'closed without an HTTP answer'}`);
        else if (reply.status >= 500) failures.push(`${at}: ${reply.status} ${reply.text.slice(0, 200)}`);
        else if (one.code && !reply.text.includes(`"code":"${one.code}"`)) failures.push(`${at}: expected ${one.code}, got ${reply.text.slice(0, 200)}`);
      });
      expect(failures.slice(0, 30)).toEqual([]);
      await expectHealthy();
    },
    SECTION_TIMEOUT_MS,
  );

  it('afterwards the same process answers, and a good socket.io-client, a good ws client and a good MQTT publish work end to end', async () => {
    const health = await fetch(`${gateway.url}/api/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: expect.any(String) });

    const sio = await eventually(() => connectAs(gateway.url, gateway.token(`${RUN}-good`)), { attempts: 30, intervalMs: 200 });
    expect(await sio.emitWithAck('subscribe', { topic: 'readings' })).toEqual(joinedAck('readings'));
    const sioLog = recordEvents(sio);
    const plain = await eventually(() => connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token(`${RUN}-good`)}&topics=readings`)), {
      attempts: 30,
      intervalMs: 200,
    });
    const sensor = knownSensors[2] ?? `${RUN}-k2`;
    const mqttDevice = await device(gateway.mqttUrl, `${RUN}-good-device`);
    const viaWs = plain.next((m) => m.event === 'reading:new' && m.payload?.sensorId === sensor);
    await mqttDevice.publishAsync(`sensors/${sensor}/temp`, '42.5', { qos: 1 });
    await sioLog.until(countOf('reading:new'));
    expect(sioLog.find((e) => e.event === 'reading:new')?.payload).toMatchObject({ sensorId: sensor, metric: 'temp', value: 42.5 });
    expect((await viaWs).payload).toMatchObject({ sensorId: sensor, metric: 'temp', value: 42.5 });
    await closeAllDevices();
    closeAllClients();
    closeAllPlain();
  });

  it(
    'no connection slot is leaked: the connections gauge drops back to the good clients, and all WEBSOCKET_MAX_CONNECTIONS slots can be filled again',
    async () => {
      const metrics = async () => (await fetch(`${gateway.url}/api/v1/metrics`)).text();
      const sio = await eventually(() => connectAs(gateway.url, gateway.token(`${RUN}-slot-a`)), { attempts: 30, intervalMs: 200 });
      const plain = await eventually(() => connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token(`${RUN}-slot-b`)}`)), {
        attempts: 30,
        intervalMs: 200,
      });
      // Abandoned transports (polling sessions, raw connections) are reaped by the keepalive within seconds.
      await eventually(async () => expect(metricSum(await metrics(), 'realtime_connections{')).toBe(2), { attempts: 60, intervalMs: 100 });
      expect(sio.connected && plain.ws.readyState === WebSocket.OPEN).toBe(true);

      // Every other slot can be taken, half by each protocol; the next handshake is refused as SERVER_FULL.
      await eventually(
        async () => {
          const extra: { close(): void }[] = [];
          try {
            for (let i = 0; i < MAX_CONNECTIONS - 2; i++) {
              if (i % 2 === 0) extra.push(await connectAs(gateway.url, gateway.token(`${RUN}-fill-${i}`)).then((s) => ({ close: () => s.disconnect() })));
              else
                extra.push(
                  await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token(`${RUN}-fill-${i}`)}`)).then((c) => ({ close: () => c.ws.terminate() })),
                );
            }
            const refused = await connectError(client(gateway.url, { auth: { token: gateway.token(`${RUN}-one-too-many`) } }));
            expect(refused.data?.code).toBe('SERVER_FULL');
          } finally {
            extra.forEach((one) => one.close());
          }
        },
        { attempts: 10, intervalMs: 500 },
      );
      closeAllClients();
      closeAllPlain();
      await eventually(async () => expect(metricSum(await metrics(), 'realtime_connections{')).toBe(0));
    },
    SECTION_TIMEOUT_MS,
  );

  it('every refusal was counted: handshake failures by code, unknown events and frames, MQTT rejects by reason', async () => {
    const after = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
    const delta = (prefix: string, ...parts: string[]) => metricSum(after, prefix, ...parts) - metricSum(metricsBefore, prefix, ...parts);
    const report: Record<string, { expectedAtLeast: number; counted: number }> = {};
    const check = (name: string, expectedAtLeast: number, counted: number) => (report[name] = { expectedAtLeast, counted });

    for (const [code, n] of expected.socketioHandshake)
      check(`socketio handshake ${code}`, n, delta('realtime_handshake_failures_total{', 'protocol="socketio"', `code="${code}"`));
    check('socketio handshake (all codes)', expected.socketioRefusals, delta('realtime_handshake_failures_total{', 'protocol="socketio"'));
    for (const [code, n] of expected.wsHandshake)
      check(`ws handshake ${code}`, n, delta('realtime_handshake_failures_total{', 'protocol="ws"', `code="${code}"`));
    // Every refused /ws upgrade, whatever was wrong with it (bad version, key, method, subprotocol as well as the token).
    check('ws handshake (all refused upgrades)', expected.wsRefusals, delta('realtime_handshake_failures_total{', 'protocol="ws"'));
    check('socketio events in, unknown', expected.socketioUnknownEvents, delta('realtime_events_in_total{', 'protocol="socketio"', 'event="unknown"'));
    check('ws frames in, unknown', expected.wsUnknownFrames, delta('realtime_events_in_total{', 'protocol="ws"', 'event="unknown"'));
    for (const [reason, n] of expected.mqttRejected) check(`mqtt rejected ${reason}`, n, delta('mqtt_messages_rejected_total{', `reason="${reason}"`));
    check('mqtt rejected (all reasons)', expected.mqttRejectedTotal, delta('mqtt_messages_rejected_total{'));

    // Refusals below the app: Node's HTTP parser, Engine.IO, ws's frame parser, the MQTT packet parser.
    for (const [status, n] of expected.httpRefused) check(`http refused ${status}`, n, delta('http_requests_refused_total{', `status="${status}"`));
    check(
      'engine.io requests refused',
      expected.engineIoErrors,
      delta('engineio_connection_errors_total{') -
        delta('engineio_connection_errors_total{', 'code="parse_error"') -
        delta('engineio_connection_errors_total{', 'code="transport_error"'),
    );
    // Some of those frames are legal (a PING, a CLOSE): at least one of them broke the parser.
    check(
      'engine.io or socket.io packets that did not parse',
      Math.min(1, expected.socketioParseErrors),
      delta('engineio_connection_errors_total{', 'code="parse_error"') + delta('realtime_frames_refused_total{', 'protocol="socketio"'),
    );
    check('ws frames over WS_MAX_PAYLOAD', expected.wsTooLarge, delta('realtime_frames_refused_total{', 'protocol="ws"', 'reason="too_large"'));
    check(
      'ws frames that break RFC 6455',
      Math.min(1, expected.wsProtocolViolations),
      delta('realtime_frames_refused_total{', 'protocol="ws"', 'reason="protocol_error"'),
    );
    check('mqtt malformed packets', expected.mqttMalformed, delta('mqtt_messages_rejected_total{', 'reason="malformed_packet"'));

    const missing = Object.entries(report).filter(([, { expectedAtLeast, counted }]) => counted < expectedAtLeast);
    expect(Object.fromEntries(missing)).toEqual({});
    expect(tally.total).toBeGreaterThanOrEqual(5000);
    expect(tally.kinds).toBeGreaterThanOrEqual(30);
  });
});
