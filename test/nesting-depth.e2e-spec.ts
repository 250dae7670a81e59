import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ERROR_MESSAGES, MAX_JSON_DEPTH } from '#contracts';
import { MetricsService } from '#observability';
import { closeAllClients, connectAs } from './support/clients.js';
import { rawExchange } from './support/fuzz.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { closeAllPlain, connectPlain, wsUrl } from './support/plain-ws.js';

// JSON nested thousands of levels deep (valid, and small: 15-30 KB) made class-transformer overflow
// the stack: HTTP answered 500, Socket.IO acked INTERNAL_ERROR. Refused at every entry point now.
const nested = (depth: number, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
const VALIDATION_FAILED = { code: 'VALIDATION_FAILED', message: ERROR_MESSAGES.VALIDATION_FAILED };

async function counted(metrics: MetricsService, protocol: string, code: string): Promise<number> {
  const { values } = await metrics.eventsRefused.get();
  return values.find((value) => value.labels.protocol === protocol && value.labels.code === code)?.value ?? 0;
}

describe('JSON nested past MAX_JSON_DEPTH', () => {
  let gateway: TestGateway;
  let admin: string;
  let port: number;

  beforeAll(async () => {
    gateway = await startGateway();
    admin = gateway.token('depth-admin', { role: 'admin' });
    port = Number(new URL(gateway.url).port);
  });
  afterEach(() => {
    closeAllClients();
    closeAllPlain();
  });
  afterAll(() => gateway.close());

  const post = (path: string, body: string, method = 'POST') =>
    rawExchange(
      port,
      [
        `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${admin}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      ],
      { end: false },
    );
  const bodyOf = (text: string): unknown => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));

  it.each([
    ['POST /api/v1/sensors', '/api/v1/sensors', 'POST', nested(3000)],
    ['PATCH /api/v1/sensors/:id', '/api/v1/sensors/nope', 'PATCH', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['POST /api/v1/publish', '/api/v1/publish', 'POST', `{"topic":"general","event":"system:event","data":${nested(MAX_JSON_DEPTH)}}`],
    ['POST /api/v1/readings (a deep field among good ones)', '/api/v1/readings', 'POST', `{"sensorId":"a","metric":"b","value":1,"extra":${nested(4000)}}`],
  ])('HTTP %s: 400 VALIDATION_FAILED, not 500', async (_case, path, method, body) => {
    const reply = await post(path, body, method);
    expect(reply.status).toBe(400);
    expect(bodyOf(reply.text)).toEqual({ statusCode: 400, ...VALIDATION_FAILED, details: [`the body nests deeper than ${MAX_JSON_DEPTH} levels`] });
  });

  it('HTTP: a body exactly MAX_JSON_DEPTH deep reaches validation as usual', async () => {
    const reply = await post('/api/v1/sensors', `{"id":"depth-ok","name":"x","type":"t","thresholds":${nested(MAX_JSON_DEPTH - 1)}}`);
    expect(reply.status).toBe(400);
    // The field errors of the ValidationPipe, not the depth refusal.
    expect((bodyOf(reply.text) as { details: string[] }).details.join(' ')).not.toContain('nests deeper');
    expect((await fetch(`${gateway.url}/api/v1/health`)).status).toBe(200);
  });

  it('Socket.IO: every event with deeply nested arguments is acked VALIDATION_FAILED and counted; the socket stays', async () => {
    const metrics = gateway.app.get(MetricsService);
    const before = await counted(metrics, 'socketio', 'VALIDATION_FAILED');
    const socket = await connectAs(gateway.url, gateway.token('depth-sio'));
    const deep = JSON.parse(nested(3000, '"general"')) as unknown;
    const raw = socket as unknown as { emitWithAck(event: string, ...args: unknown[]): Promise<unknown> };
    for (const event of ['subscribe', 'unsubscribe', 'notification:mark_read', 'notification:mark_all_read', 'auth:refresh']) {
      expect(await raw.emitWithAck(event, deep)).toEqual({ ok: false, error: VALIDATION_FAILED });
    }
    // A deep second argument is refused too.
    expect(await raw.emitWithAck('subscribe', { topic: 'general' }, JSON.parse(nested(MAX_JSON_DEPTH + 1)))).toEqual({ ok: false, error: VALIDATION_FAILED });
    expect(await socket.emitWithAck('subscribe', { topic: 'general' })).toMatchObject({ ok: true, topic: 'general' });
    expect(socket.connected).toBe(true);
    expect(await counted(metrics, 'socketio', 'VALIDATION_FAILED')).toBe(before + 6);
  });

  it('/ws: a deeply nested frame gets one VALIDATION_FAILED error frame; the connection stays', async () => {
    const plain = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('depth-ws')}`));
    for (const frame of [`{"type":"sub","topic":${nested(MAX_JSON_DEPTH + 1, '"general"')}}`, `${'['.repeat(30_000)}${']'.repeat(30_000)}`]) {
      const error = plain.next((m) => m.type === 'error');
      plain.ws.send(frame);
      expect(await error).toEqual({ type: 'error', ...VALIDATION_FAILED });
    }
    const pong = plain.next((m) => m.type === 'pong');
    plain.send({ type: 'ping' });
    await pong;
  });
});
