import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { closeAllClients, connectAs, disconnected, joinedAck, nextEvent, recordEvents } from './support/clients.js';
import { startGateway, type TestGateway } from './support/gateway.js';

describe('per-socket limits', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ WS_RATE_LIMIT: '10', WS_MAX_PAYLOAD: '2048' });
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  it('refuses events beyond the burst with RATE_LIMITED and serves the socket again once it slows down', async () => {
    const socket = await connectAs(gateway.url, gateway.token('eager'));
    // Burst is twice the rate: 20 pass at once, the rest of this volley is refused (one more may
    // pass if the bucket refilled while the volley was in flight).
    const replies = await Promise.all(Array.from({ length: 30 }, () => socket.emitWithAck('subscribe', { topic: 'general' })));
    const accepted = replies.filter((reply) => reply.ok).length;
    const refused = replies.filter((reply) => !reply.ok);
    expect([20, 21]).toContain(accepted);
    expect(refused).toHaveLength(30 - accepted);
    expect(refused[0]).toEqual({ ok: false, error: { code: 'RATE_LIMITED', message: expect.any(String) } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await socket.emitWithAck('subscribe', { topic: 'general' })).toEqual(joinedAck('general'));
    expect(socket.connected).toBe(true);
  });

  it('sends an error event for refused events without an ack', async () => {
    const socket = await connectAs(gateway.url, gateway.token('no-ack-flood'));
    const errors = recordEvents(socket);
    for (let i = 0; i < 25; i++) (socket as unknown as { emit(e: string, p: unknown): void }).emit('subscribe', { topic: 'general' });
    await nextEvent(socket, 'error');
    expect(errors[0]).toEqual({ event: 'error', payload: { code: 'RATE_LIMITED', message: expect.any(String) } });
  });

  it('disconnects a socket that keeps flooding, and others stay connected', async () => {
    const calm = await connectAs(gateway.url, gateway.token('calm'));
    const flooder = await connectAs(gateway.url, gateway.token('flooder'));
    const gone = disconnected(flooder);
    const raw = flooder as unknown as { emit(e: string, p: unknown, ack: () => void): void };
    for (let i = 0; i < 200; i++) raw.emit('subscribe', { topic: 'general' }, () => undefined);
    expect(await gone).toBe('io server disconnect');
    expect(await calm.emitWithAck('subscribe', { topic: 'general' })).toEqual(joinedAck('general'));
  });

  it('closes the connection of an oversized frame and keeps serving everyone else', async () => {
    const bystander = await connectAs(gateway.url, gateway.token('bystander'));
    const sender = await connectAs(gateway.url, gateway.token('big-sender'));
    const gone = disconnected(sender);
    sender.emit('subscribe', { topic: 'x'.repeat(4096) }, () => undefined);
    expect(await gone).toBe('transport close');

    const health = await fetch(`${gateway.url}/api/v1/health`);
    expect(health.status).toBe(200);
    expect(await bystander.emitWithAck('subscribe', { topic: 'readings' })).toEqual(joinedAck('readings'));
    const again = await connectAs(gateway.url, gateway.token('big-sender'));
    expect(again.connected).toBe(true);
  });
});
