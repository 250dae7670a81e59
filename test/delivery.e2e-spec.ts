import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { UserSocketsRegistry } from '../libs/realtime/src/connections/user-sockets.registry.js';
import { ConnectionLimiter } from '#realtime';
import { closeAllClients, connectAs, joinedAck, nextEvent, recordEvents } from './support/clients.js';
import { startGateway, type TestGateway } from './support/gateway.js';

const reading = { sensorId: 'boiler-1', metric: 'temperature', value: 21.5, unit: 'C', ts: 1_700_000_000_000 };

describe('delivery to users and topics', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  it("reaches every device of a user through emitToUser, and no one else's", async () => {
    const phone = await connectAs(gateway.url, gateway.token('ann'));
    const laptop = await connectAs(gateway.url, gateway.token('ann'));
    const other = await connectAs(gateway.url, gateway.token('ben'));
    const otherEvents = recordEvents(other);
    expect(await gateway.websocket.getUserSocketCount('ann')).toBe(2);
    expect(await gateway.websocket.isUserConnected('ann')).toBe(true);
    expect(await gateway.websocket.isUserConnected('nobody')).toBe(false);

    const onPhone = nextEvent(phone, 'xp:gained');
    const onLaptop = nextEvent(laptop, 'xp:gained');
    gateway.websocket.emitXpGained('ann', { amount: 10, source: 'quiz', totalXp: 110 });
    expect(await onPhone).toEqual({ amount: 10, source: 'quiz', totalXp: 110 });
    expect(await onLaptop).toEqual({ amount: 10, source: 'quiz', totalXp: 110 });

    // Events to one socket keep their order: once ben has this marker, an xp:gained for him would have arrived too.
    gateway.websocket.emitRankUpdated('ben', { oldRank: 3, newRank: 2 });
    await nextEvent(other, 'rank:updated');
    expect(otherEvents.map((e) => e.event)).toEqual(['rank:updated']);
  });

  it('emitToUsers and broadcast reach each socket once', async () => {
    const a = await connectAs(gateway.url, gateway.token('u-a'));
    const b = await connectAs(gateway.url, gateway.token('u-b'));
    const aEvents = recordEvents(a);
    const bEvents = recordEvents(b);
    gateway.websocket.emitToUsers(['u-a', 'u-b', 'u-a'], 'achievement:unlocked', {
      achievementId: 'first',
      name: 'First',
      unlockedAt: new Date(0).toISOString(),
    });
    gateway.websocket.broadcastLeaderboardUpdate({ leaderboard: [{ userId: 'u-a', xp: 5, rank: 1 }] });
    await Promise.all([nextEvent(a, 'leaderboard:updated'), nextEvent(b, 'leaderboard:updated')]);
    expect(aEvents.map((e) => e.event)).toEqual(['achievement:unlocked', 'leaderboard:updated']);
    expect(bEvents.map((e) => e.event)).toEqual(['achievement:unlocked', 'leaderboard:updated']);
  });

  it('acks subscribe for a known topic, and refuses unknown, forbidden and invalid ones', async () => {
    const user = await connectAs(gateway.url, gateway.token('subscriber'));
    expect(await user.emitWithAck('subscribe', { topic: 'readings' })).toEqual(joinedAck('readings'));
    expect(await user.emitWithAck('subscribe', { topic: 'sensor:boiler-1' })).toEqual(joinedAck('sensor:boiler-1'));
    expect(await user.emitWithAck('subscribe', { topic: 'weather' })).toEqual({ ok: false, error: { code: 'UNKNOWN_TOPIC', message: 'Unknown topic' } });
    expect(await user.emitWithAck('subscribe', { topic: 'sensor:bad/id' })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_TOPIC' } });
    expect(await user.emitWithAck('subscribe', { topic: 'system' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await user.emitWithAck('subscribe', { topic: 'user:someone-else' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await user.emitWithAck('unsubscribe', { topic: 'user:subscriber' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    for (const bad of [{}, { topic: 7 }, { topic: 'general', extra: true }, 'general', null, { topic: 'x'.repeat(200) }]) {
      const reply = await user.emitWithAck('subscribe', bad as { topic: string });
      expect(reply).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', message: expect.any(String) } });
    }
    const admin = await connectAs(gateway.url, gateway.token('root', { role: 'admin' }));
    expect(await admin.emitWithAck('subscribe', { topic: 'system' })).toEqual(joinedAck('system'));
  });

  it('answers a command sent without an ack callback with an error event', async () => {
    const user = await connectAs(gateway.url, gateway.token('no-ack'));
    const error = nextEvent(user, 'error');
    (user as unknown as { emit(event: string, payload: unknown): void }).emit('subscribe', { topic: 'weather' });
    expect(await error).toMatchObject({ code: 'UNKNOWN_TOPIC' });
  });

  it('delivers an event once to a socket whose topics overlap, and stops after unsubscribe', async () => {
    const both = await connectAs(gateway.url, gateway.token('overlap'));
    await both.emitWithAck('subscribe', { topic: 'readings' });
    await both.emitWithAck('subscribe', { topic: 'sensor:boiler-1' });
    const only = await connectAs(gateway.url, gateway.token('single'));
    await only.emitWithAck('subscribe', { topic: 'sensor:boiler-1' });
    const bothEvents = recordEvents(both);
    const onlyEvents = recordEvents(only);

    gateway.websocket.emitToTopic(['readings', 'sensor:boiler-1'], 'reading:new', reading);
    gateway.websocket.emitSystemEvent('info', 'marker', undefined, 'sensor:boiler-1');
    await Promise.all([nextEvent(both, 'system:event'), nextEvent(only, 'system:event')]);
    expect(bothEvents.map((e) => e.event)).toEqual(['reading:new', 'system:event']);
    expect(bothEvents[0]!.payload).toEqual(reading);
    expect(onlyEvents.map((e) => e.event)).toEqual(['reading:new', 'system:event']);

    expect(await both.emitWithAck('unsubscribe', { topic: 'sensor:boiler-1' })).toEqual({ ok: true, topic: 'sensor:boiler-1' });
    expect(await both.emitWithAck('unsubscribe', { topic: 'readings' })).toEqual({ ok: true, topic: 'readings' });
    bothEvents.length = 0;
    gateway.websocket.emitToTopic(['readings', 'sensor:boiler-1'], 'reading:new', reading);
    gateway.websocket.emitToUser('overlap', 'rank:updated', { oldRank: 1, newRank: 1 });
    await nextEvent(both, 'rank:updated');
    expect(bothEvents.map((e) => e.event)).toEqual(['rank:updated']);
  });

  it('leaves the user-sockets map and the connection count empty after 300 connect/disconnect cycles', async () => {
    const registry = gateway.app.get(UserSocketsRegistry);
    const limiter = gateway.app.get(ConnectionLimiter);
    for (let batch = 0; batch < 30; batch++) {
      const sockets = await Promise.all(Array.from({ length: 10 }, (_, i) => connectAs(gateway.url, gateway.token(`cycler-${i % 4}`))));
      expect(registry.userCount).toBeGreaterThan(0);
      await Promise.all(
        sockets.map((socket, i) => {
          const gone = new Promise((resolve) => socket.once('disconnect', resolve));
          // Half leave politely, half drop the transport.
          if (i % 2 === 0) socket.disconnect();
          else socket.io.engine.close();
          return gone;
        }),
      );
    }
    closeAllClients();
    for (let i = 0; i < 100 && (registry.userCount > 0 || limiter.size > 0); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(registry.userCount).toBe(0);
    expect(limiter.size).toBe(0);
    expect(await gateway.websocket.getUserSocketCount('cycler-0')).toBe(0);
  });
});

describe('topic bound per socket', () => {
  it('refuses the 257th topic with TOO_MANY_TOPICS and still allows re-subscribing a held one', async () => {
    const gateway = await startGateway({ WS_RATE_LIMIT: '10000' });
    try {
      const socket = await connectAs(gateway.url, gateway.token('collector'));
      const replies = await Promise.all(Array.from({ length: 256 }, (_, i) => socket.emitWithAck('subscribe', { topic: `sensor:s-${i}` })));
      expect(replies.every((reply) => reply.ok)).toBe(true);
      expect(await socket.emitWithAck('subscribe', { topic: 'sensor:one-too-many' })).toMatchObject({ ok: false, error: { code: 'TOO_MANY_TOPICS' } });
      expect(await socket.emitWithAck('subscribe', { topic: 'sensor:s-7', batchMs: 10 })).toEqual({
        ok: true,
        topic: 'sensor:s-7',
        batchMs: 10,
        epoch: expect.any(String),
        offset: expect.any(Number),
        recovered: false,
      });
      await socket.emitWithAck('unsubscribe', { topic: 'sensor:s-0' });
      expect(await socket.emitWithAck('subscribe', { topic: 'sensor:one-too-many' })).toEqual(joinedAck('sensor:one-too-many'));
    } finally {
      closeAllClients();
      await gateway.close();
    }
  });
});
