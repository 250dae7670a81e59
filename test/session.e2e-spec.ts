import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { closeAllClients, connectAs, disconnected, joinedAck, nextEvent, recordEvents } from './support/clients.js';
import { startGateway, type TestGateway } from './support/gateway.js';

describe('token expiry and auth:refresh', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  // `exp` has whole seconds: a 2 s token lives 1-2 s, long enough to be admitted on a loaded machine.
  it('sends error TOKEN_EXPIRED and disconnects when exp passes', async () => {
    const socket = await connectAs(gateway.url, gateway.token('short', {}, 2));
    const error = nextEvent(socket, 'error');
    const reason = disconnected(socket);
    expect(await error).toEqual({ code: 'TOKEN_EXPIRED', message: expect.any(String) });
    expect(await reason).toBe('io server disconnect');
  });

  it('keeps the socket past the old exp after a refresh with a valid token for the same user', async () => {
    const socket = await connectAs(gateway.url, gateway.token('renewer', {}, 2));
    const events = recordEvents(socket);
    const reply = await socket.emitWithAck('auth:refresh', { token: gateway.token('renewer', {}, 3600) });
    expect(reply).toEqual({ ok: true, userId: 'renewer', expiresAt: expect.any(Number) });
    // Past the first token's expiry, the socket still answers.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await socket.emitWithAck('subscribe', { topic: 'general' })).toEqual(joinedAck('general'));
    expect(socket.connected).toBe(true);
    expect(events.filter((e) => e.event === 'error')).toEqual([]);
  });

  it("refuses a refresh carrying another user's token and keeps the old expiry", async () => {
    const socket = await connectAs(gateway.url, gateway.token('victim', {}, 2));
    const reply = await socket.emitWithAck('auth:refresh', { token: gateway.token('attacker', { role: 'admin' }, 3600) });
    expect(reply).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: expect.any(String) } });
    expect(await socket.emitWithAck('subscribe', { topic: 'system' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const error = await nextEvent(socket, 'error');
    expect(error.code).toBe('TOKEN_EXPIRED');
  });

  it.each([
    ['an invalid token', { token: 'not-a-jwt' }, 'TOKEN_INVALID'],
    ['no token field', {}, 'VALIDATION_FAILED'],
    ['a number', { token: 42 }, 'VALIDATION_FAILED'],
  ])('answers a refresh with %s with %s and keeps the socket', async (_case, payload, code) => {
    const socket = await connectAs(gateway.url, gateway.token('keeper'));
    const reply = await socket.emitWithAck('auth:refresh', payload as { token: string });
    expect(reply).toMatchObject({ ok: false, error: { code } });
    expect(await socket.emitWithAck('subscribe', { topic: 'general' })).toEqual(joinedAck('general'));
  });

  it('drops topics a refreshed, lower role may no longer hold', async () => {
    const admin = await connectAs(gateway.url, gateway.token('demoted', { role: 'admin' }));
    expect(await admin.emitWithAck('subscribe', { topic: 'system' })).toEqual(joinedAck('system'));
    expect(await admin.emitWithAck('subscribe', { topic: 'general' })).toEqual(joinedAck('general'));
    await admin.emitWithAck('auth:refresh', { token: gateway.token('demoted', { role: 'user' }) });
    const events = recordEvents(admin);
    gateway.websocket.emitSystemEvent('info', 'for admins');
    gateway.websocket.emitSystemEvent('info', 'for everyone', undefined, 'general');
    await nextEvent(admin, 'system:event');
    expect(events.map((e) => (e.payload as { message: string }).message)).toEqual(['for everyone']);
  });
});
