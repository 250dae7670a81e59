import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import jwt from 'jsonwebtoken';
import { DEV_JWT_SECRET } from '../src/config/app-config.js';
import { client, closeAllClients, connectError, nextEvent } from './support/clients.js';
import { usePostgresDatabase } from './support/database.js';
import { freePort, spawnGateway, type GatewayProcess } from './support/process.js';

describe('the gateway process', () => {
  const databaseUrl = usePostgresDatabase();
  let running: GatewayProcess | undefined;

  afterEach(() => {
    closeAllClients();
    running?.child.kill('SIGKILL');
    running = undefined;
  });

  it('drains on SIGTERM: tells clients, closes their transports, refuses newcomers and exits 0', async () => {
    const port = await freePort();
    running = spawnGateway({ PORT: String(port), LOG_LEVEL: 'log', JWT_SECRET: DEV_JWT_SECRET });
    await running.waitFor('Gateway listening');
    const url = `http://127.0.0.1:${port}`;
    const token = jwt.sign({ sub: 'leaver' }, DEV_JWT_SECRET, { expiresIn: 60 });

    const socket = client(url, { auth: { token } });
    const authenticated = nextEvent(socket, 'authenticated');
    socket.connect();
    await authenticated;
    const goodbye = nextEvent(socket, 'system:event');
    const reason = new Promise((resolve) => socket.once('disconnect', resolve));

    running.child.kill('SIGTERM');
    expect(await goodbye).toMatchObject({ level: 'warning', data: { code: 'SHUTTING_DOWN' } });
    // A transport close, not an io server disconnect: socket.io-client reconnects by itself.
    expect(await reason).toBe('transport close');
    expect(await running.exited).toEqual({ code: 0, signal: null });
    expect(running.output()).toContain('Shutdown complete');
  });

  it('writes JSON logs with connection and user ids on connect, disconnect and auth failure, and never a token', async () => {
    const port = await freePort();
    running = spawnGateway({ PORT: String(port), LOG_LEVEL: 'log', LOG_FORMAT: 'json' });
    await running.waitFor('Gateway listening');
    const url = `http://127.0.0.1:${port}`;
    const token = jwt.sign({ sub: 'logged-user' }, DEV_JWT_SECRET, { expiresIn: 60 });
    const socket = client(url, { auth: { token } });
    const authenticated = nextEvent(socket, 'authenticated');
    socket.connect();
    await authenticated;
    socket.disconnect();
    const badToken = jwt.sign({ sub: 'intruder' }, 'wrong-secret-wrong-secret-wrong-secret', { expiresIn: 60 });
    await connectError(client(url, { auth: { token: badToken } }));
    await running.waitFor('"handshake refused"');
    await running.waitFor('"disconnected"');

    const lines = running
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: string; context?: string; message: unknown });
    const messages = lines.map((line) => line.message).filter((message): message is Record<string, unknown> => typeof message === 'object' && message !== null);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'connected', protocol: 'socketio', connectionId: expect.any(String), userId: 'logged-user' }),
        expect.objectContaining({ msg: 'disconnected', protocol: 'socketio', connectionId: expect.any(String), userId: 'logged-user' }),
        expect.objectContaining({ msg: 'handshake refused', protocol: 'socketio', connectionId: expect.any(String), code: 'TOKEN_INVALID' }),
      ]),
    );
    expect(running.output()).not.toContain(token);
    expect(running.output()).not.toContain(badToken);
    expect(running.output()).not.toContain(DEV_JWT_SECRET);
  });

  it('refuses to start with one readable line per bad variable', async () => {
    running = spawnGateway({
      NODE_ENV: 'production',
      PORT: 'eighty',
      WS_RATE_LIMIT: '-5',
      AUTH_DEV_TOKENS: 'true',
      CORS_ORIGIN: 'https://ok.example,not a url',
    });
    const { code } = await running.exited;
    expect(code).toBe(1);
    const lines = running.output().trim().split('\n');
    expect(lines).toEqual([
      'Invalid environment: CORS_ORIGIN: "not a url" is not an origin like https://app.example.com',
      'Invalid environment: JWT_SECRET: must be set unless NODE_ENV=development (or set JWT_PUBLIC_KEY)',
      'Invalid environment: AUTH_DEV_TOKENS: may be true only when NODE_ENV=development',
      'Invalid environment: PORT: expected an integer from 0 to 65535, got "eighty"',
      'Invalid environment: WS_RATE_LIMIT: expected an integer from 1 to 100000, got "-5"',
    ]);
  });

  it('refuses the development JWT secret in production', async () => {
    running = spawnGateway({ NODE_ENV: 'production', JWT_SECRET: DEV_JWT_SECRET });
    expect((await running.exited).code).toBe(1);
    expect(running.output()).toContain('JWT_SECRET: is the development default');
  });

  it('exits with a clear message when the embedded broker port is taken', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, () => resolve((blocker.address() as { port: number }).port)));
    try {
      running = spawnGateway({ PORT: String(await freePort()), MQTT_BROKER_PORT: String(port), LOG_LEVEL: 'error' });
      expect((await running.exited).code).toBe(1);
      expect(running.output()).toContain(
        `MQTT_BROKER_PORT ${port} is already in use: set MQTT_BROKER_PORT to a free port, or MQTT_URL to use the broker that holds it`,
      );
    } finally {
      blocker.close();
    }
  });

  it('exits with a clear message when Redis is unreachable at start-up', async () => {
    const deadPort = await freePort();
    running = spawnGateway({ PORT: String(await freePort()), REDIS_URL: `redis://127.0.0.1:${deadPort}`, DATABASE_URL: databaseUrl(), LOG_LEVEL: 'error' });
    expect((await running.exited).code).toBe(1);
    expect(running.output().trim()).toMatch(new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${deadPort} is unreachable: .+$`));
  });

  it('exits with a clear message when the database is unreachable at start-up, without printing its password', async () => {
    const deadPort = await freePort();
    running = spawnGateway({ PORT: String(await freePort()), DATABASE_URL: `postgres://gateway:s3cret@127.0.0.1:${deadPort}/rtg`, LOG_LEVEL: 'error' });
    expect((await running.exited).code).toBe(1);
    expect(running.output().trim()).toMatch(new RegExp(`^Database postgres://\\*\\*\\*@127\\.0\\.0\\.1:${deadPort}/rtg is not usable: .+$`));
    expect(running.output()).not.toContain('s3cret');
  });

  it('refuses REDIS_URL without DATABASE_URL with one line', async () => {
    running = spawnGateway({ PORT: String(await freePort()), REDIS_URL: 'redis://127.0.0.1:6379', LOG_LEVEL: 'error' });
    expect((await running.exited).code).toBe(1);
    expect(running.output().trim()).toBe(
      'Invalid environment: REDIS_URL: needs DATABASE_URL (PostgreSQL): the embedded database cannot be shared by several instances',
    );
  });

  it('exits with a clear message when PORT is taken', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, () => resolve((blocker.address() as { port: number }).port)));
    try {
      running = spawnGateway({ PORT: String(port), LOG_LEVEL: 'error' });
      expect((await running.exited).code).toBe(1);
      expect(running.output()).toContain(`Port ${port} is already in use: set PORT to a free port`);
    } finally {
      blocker.close();
    }
  });
});
