import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { HandshakeAuthenticator } from '../libs/realtime/src/auth/handshake-authenticator.js';
import { DEV_JWT_SECRET } from '../src/config/app-config.js';
import { client, closeAllClients, connectAs, connectError, nextEvent } from './support/clients.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { openRawEngineIo } from './support/raw-engine-io.js';
import { signWith, unsignedToken } from './support/tokens.js';

/** The server frees a slot when it sees the close: connect, retrying while the instance is still full. */
function connectOnceFree(url: string, token: string) {
  return eventually(() => connectAs(url, token), { attempts: 50, intervalMs: 20 });
}

describe('Socket.IO handshake', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  it('admits a valid token and sends authenticated, then the unread count', async () => {
    const socket = client(gateway.url, { auth: { token: gateway.token('alice', { email: 'alice@example.com', role: 'admin' }) } });
    const events: string[] = [];
    socket.onAny((event: string) => events.push(event));
    const authenticated = nextEvent(socket, 'authenticated');
    const unread = nextEvent(socket, 'notification:unread_count');
    socket.connect();
    expect(await authenticated).toEqual({ success: true, userId: 'alice', email: 'alice@example.com', role: 'admin', epoch: expect.any(String), offset: 0 });
    expect(await unread).toEqual({ unreadCount: 0 });
    expect(events).toEqual(['authenticated', 'notification:unread_count']);
  });

  it('reads the token from auth.token, the Authorization header and the query, in that order', async () => {
    const fromAuth = await connectAs(gateway.url, gateway.token('from-auth'));
    expect(fromAuth.connected).toBe(true);

    const header = client(gateway.url, { extraHeaders: { Authorization: `Bearer ${gateway.token('from-header')}` } });
    const headerAuth = nextEvent(header, 'authenticated');
    header.connect();
    expect((await headerAuth).userId).toBe('from-header');

    const query = client(gateway.url, { query: { token: gateway.token('from-query') } });
    const queryAuth = nextEvent(query, 'authenticated');
    query.connect();
    expect((await queryAuth).userId).toBe('from-query');

    const all = client(gateway.url, {
      auth: { token: gateway.token('first') },
      extraHeaders: { Authorization: `Bearer ${gateway.token('second')}` },
      query: { token: gateway.token('third') },
    });
    const allAuth = nextEvent(all, 'authenticated');
    all.connect();
    expect((await allAuth).userId).toBe('first');
  });

  it('takes the user id from sub, else userId, else id, and defaults the role to user', async () => {
    for (const [claims, expected] of [
      [{ sub: 's-1', userId: 'u-1', id: 'i-1' }, 's-1'],
      [{ userId: 'u-2', id: 'i-2' }, 'u-2'],
      [{ id: 42 }, '42'],
    ] as const) {
      const socket = client(gateway.url, { auth: { token: signWith({ ...claims, role: 'superuser' }, DEV_JWT_SECRET, { expiresIn: 60 }) } });
      const authenticated = nextEvent(socket, 'authenticated');
      socket.connect();
      expect(await authenticated).toEqual({ success: true, userId: expected, role: 'user', epoch: expect.any(String), offset: expect.any(Number) });
    }
  });

  it.each([
    ['no token at all', {}, 'TOKEN_MISSING'],
    ['an empty auth.token', { auth: { token: '' } }, 'TOKEN_MISSING'],
    ['garbage', { auth: { token: 'not-a-jwt' } }, 'TOKEN_INVALID'],
    ['alg none', { auth: { token: unsignedToken({ sub: 'mallory', role: 'admin' }) } }, 'TOKEN_INVALID'],
    ['a wrong key', { auth: { token: signWith({ sub: 'mallory' }, 'some-other-secret-of-sufficient-length') } }, 'TOKEN_INVALID'],
    ['an expired token', { auth: { token: signWith({ sub: 'bob', exp: Math.floor(Date.now() / 1000) - 10 }, DEV_JWT_SECRET) } }, 'TOKEN_EXPIRED'],
    ['a not-yet-valid token', { auth: { token: signWith({ sub: 'bob' }, DEV_JWT_SECRET, { notBefore: 3600 }) } }, 'TOKEN_INVALID'],
    ['a token without a user id', { auth: { token: signWith({ role: 'admin' }, DEV_JWT_SECRET) } }, 'TOKEN_INVALID'],
    ['a malformed Authorization header', { extraHeaders: { Authorization: 'Token abc' } }, 'TOKEN_MISSING'],
  ])('refuses %s with connect_error Unauthorized', async (_case, options, code) => {
    const error = await connectError(client(gateway.url, options));
    expect(error.message).toBe('Unauthorized');
    expect(error.data).toEqual({ code });
  });

  it('refuses new handshakes with SHUTTING_DOWN once draining has begun', async () => {
    const draining = await startGateway();
    try {
      const holder = await connectAs(draining.url, draining.token('holder'));
      draining.app.get(HandshakeAuthenticator).stopAccepting();
      const error = await connectError(client(draining.url, { auth: { token: draining.token('late') } }));
      expect(error.message).toBe('Server shutting down');
      expect(error.data).toEqual({ code: 'SHUTTING_DOWN' });
      expect(holder.connected).toBe(true);
    } finally {
      await draining.close();
    }
  });

  it('refuses a browser origin outside CORS_ORIGIN and admits a listed one', async () => {
    const token = gateway.token('web');
    const foreign = client(gateway.url, { auth: { token }, extraHeaders: { Origin: 'https://evil.example' } });
    // Refused by the engine before any namespace handshake: a transport-level connect_error.
    const refused = await connectError(foreign);
    expect(refused.message).toBe('websocket error');
    expect(foreign.connected).toBe(false);
    const listed = await connectAs(gateway.url, token, { extraHeaders: { Origin: 'http://localhost:5173' } });
    expect(listed.connected).toBe(true);
  });
});

describe('Socket.IO handshake with JWT_PUBLIC_KEY, issuer and audience', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ JWT_PUBLIC_KEY: publicPem, JWT_ISSUER: 'https://idp.example', JWT_AUDIENCE: 'gateway' });
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  const rs256 = (claims: object, options: object = {}) =>
    signWith(claims, rsa.privateKey, { algorithm: 'RS256', expiresIn: 60, issuer: 'https://idp.example', audience: 'gateway', ...options });

  it('admits an RS256 token from the identity provider', async () => {
    const socket = await connectAs(gateway.url, rs256({ sub: 'carol', role: 'service' }));
    expect(socket.connected).toBe(true);
  });

  it.each([
    ['a wrong issuer', () => rs256({ sub: 'carol' }, { issuer: 'https://other.example' })],
    ['a wrong audience', () => rs256({ sub: 'carol' }, { audience: 'someone-else' })],
    ['no issuer', () => signWith({ sub: 'carol' }, rsa.privateKey, { algorithm: 'RS256', audience: 'gateway' })],
    [
      'an ES256 token signed by another key',
      () => signWith({ sub: 'carol' }, ec.privateKey, { algorithm: 'ES256', issuer: 'https://idp.example', audience: 'gateway' }),
    ],
    [
      'an HS256 token keyed with the public key (algorithm confusion)',
      () => signWith({ sub: 'carol' }, publicPem, { issuer: 'https://idp.example', audience: 'gateway' }),
    ],
  ])('refuses %s', async (_case, makeToken) => {
    const error = await connectError(client(gateway.url, { auth: { token: makeToken() } }));
    expect(error.data).toEqual({ code: 'TOKEN_INVALID' });
  });
});

describe('connection caps', () => {
  afterEach(() => closeAllClients());

  it('refuses handshakes beyond WEBSOCKET_MAX_CONNECTIONS with SERVER_FULL and admits again after a disconnect', async () => {
    const gateway = await startGateway({ WEBSOCKET_MAX_CONNECTIONS: '2' });
    try {
      const first = await connectAs(gateway.url, gateway.token('u1'));
      await connectAs(gateway.url, gateway.token('u2'));
      const error = await connectError(client(gateway.url, { auth: { token: gateway.token('u3') } }));
      expect(error.data).toEqual({ code: 'SERVER_FULL' });

      const gone = new Promise((resolve) => first.once('disconnect', resolve));
      first.disconnect();
      await gone;
      expect((await connectOnceFree(gateway.url, gateway.token('u3'))).connected).toBe(true);
    } finally {
      await gateway.close();
    }
  });

  it('refuses a refused token without holding a slot', async () => {
    const gateway = await startGateway({ WEBSOCKET_MAX_CONNECTIONS: '1' });
    try {
      for (let i = 0; i < 3; i++) {
        const error = await connectError(client(gateway.url, { auth: { token: 'bad' } }));
        expect(error.data).toEqual({ code: 'TOKEN_INVALID' });
      }
      expect((await connectAs(gateway.url, gateway.token('u1'))).connected).toBe(true);
    } finally {
      await gateway.close();
    }
  });

  it('counts a transport from the moment it opens, admits one socket on it, and frees the slot when it closes', async () => {
    const gateway = await startGateway({ WEBSOCKET_MAX_CONNECTIONS: '1' });
    const raw = openRawEngineIo(gateway.url);
    const connectPacket = (token: string) => `40${JSON.stringify({ token })}`;
    try {
      await raw.next('0{');
      // Open but not yet authenticated: it holds the only slot.
      expect((await connectError(client(gateway.url, { auth: { token: gateway.token('u3') } }))).data).toEqual({ code: 'SERVER_FULL' });
      // Both CONNECTs arrive before socket.io records the first (once it has, it closes a
      // connection that sends another): one is admitted, one refused.
      raw.send(connectPacket(gateway.token('u1')), connectPacket(gateway.token('u2')));
      await raw.next('40{"sid"');
      expect(JSON.parse((await raw.next('44')).slice(2))).toEqual({ message: 'Too many connections', data: { code: 'TOO_MANY_CONNECTIONS' } });
      await Promise.all([raw.next('42["authenticated"'), raw.next('42["notification:unread_count"')]);
      // The first socket is untouched and still answers.
      raw.send(`427${JSON.stringify(['subscribe', { topic: 'readings' }])}`);
      expect(JSON.parse((await raw.next('437')).slice(3))).toEqual([
        { ok: true, topic: 'readings', epoch: expect.any(String), offset: expect.any(Number), recovered: false },
      ]);
      expect((await connectError(client(gateway.url, { auth: { token: gateway.token('u3') } }))).data).toEqual({ code: 'SERVER_FULL' });
      // A socket that disconnects leaves its transport open, and counted: a new CONNECT on it is admitted.
      raw.send('41');
      await eventually(async () => expect(gateway.websocket.localSocketCount()).toBe(0));
      expect((await connectError(client(gateway.url, { auth: { token: gateway.token('u3') } }))).data).toEqual({ code: 'SERVER_FULL' });
      raw.send(connectPacket(gateway.token('u4')));
      // The old socket gets nothing more: the next Socket.IO frame answers this CONNECT.
      expect(await raw.next('4')).toMatch(/^40\{"sid"/);

      raw.close();
      expect((await connectOnceFree(gateway.url, gateway.token('u3'))).connected).toBe(true);
    } finally {
      raw.terminate();
      await gateway.close();
    }
  });

  it('closes the transport of a refused CONNECT, which frees its slot', async () => {
    const gateway = await startGateway({ WEBSOCKET_MAX_CONNECTIONS: '1' });
    const raw = openRawEngineIo(gateway.url);
    try {
      await raw.next('0{');
      raw.send(`40${JSON.stringify({ token: 'bad' })}`);
      expect(JSON.parse((await raw.next('44')).slice(2))).toEqual({ message: 'Unauthorized', data: { code: 'TOKEN_INVALID' } });
      await raw.closed;
      expect((await connectAs(gateway.url, gateway.token('u1'))).connected).toBe(true);
    } finally {
      raw.terminate();
      await gateway.close();
    }
  });

  it('applies WS_MAX_CONNECTIONS_PER_IP per client address', async () => {
    const gateway = await startGateway({ WS_MAX_CONNECTIONS_PER_IP: '2', TRUST_PROXY: 'true' });
    try {
      const from = (address: string) => ({ extraHeaders: { 'X-Forwarded-For': `198.51.100.7, ${address}` } });
      await connectAs(gateway.url, gateway.token('a'), from('203.0.113.1'));
      await connectAs(gateway.url, gateway.token('a'), from('203.0.113.1'));
      const error = await connectError(client(gateway.url, { auth: { token: gateway.token('a') }, ...from('203.0.113.1') }));
      expect(error.data).toEqual({ code: 'TOO_MANY_CONNECTIONS' });
      expect((await connectAs(gateway.url, gateway.token('b'), from('203.0.113.2'))).connected).toBe(true);
    } finally {
      await gateway.close();
    }
  });
});
