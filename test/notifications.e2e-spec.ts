import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { GamificationService } from '#gamification';
import { closeAllClients, connectAs, countOf, initialUnreadCount, nextEvent, recordEvents, type TestSocket } from './support/clients.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';

describe('notifications inbox', () => {
  let gateway: TestGateway;
  let service: string;

  const send = (userIds: string[], title = 'Hello', extra: object = {}) =>
    api(gateway.url, 'POST', '/notifications', service, { userIds, title, message: `${title} body`, ...extra });

  beforeAll(async () => {
    gateway = await startGateway({ NOTIFICATIONS_MAX_PER_USER: '5' });
    service = gateway.token('billing', { role: 'service' });
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  it("reaches both of A's devices and not B, and read on one device clears the other", async () => {
    const phone = await connectAs(gateway.url, gateway.token('nina'));
    const laptop = await connectAs(gateway.url, gateway.token('nina'));
    const other = await connectAs(gateway.url, gateway.token('otto'));
    const otherEvents = recordEvents(other);

    const onPhone = nextEvent(phone, 'notification:new');
    const onLaptop = nextEvent(laptop, 'notification:new');
    const laptopCount = nextEvent(laptop, 'notification:unread_count');
    const created = await send(['nina'], 'Invoice ready', { data: { invoiceId: 'inv-1' } });
    expect(created.status).toBe(201);
    const id = created.body.notifications[0].id as string;

    const expected = {
      notification: { id, title: 'Invoice ready', message: 'Invoice ready body', data: { invoiceId: 'inv-1' }, createdAt: expect.any(String), read: false },
      timestamp: expect.any(String),
    };
    expect(await onPhone).toEqual(expected);
    expect(await onLaptop).toEqual(expected);
    expect(await laptopCount).toEqual({ unreadCount: 1 });

    const laptopRead = nextEvent(laptop, 'notification:read');
    const laptopZero = nextEvent(laptop, 'notification:unread_count');
    expect(await phone.emitWithAck('notification:mark_read', { notificationId: id })).toEqual({ ok: true, notificationId: id, unreadCount: 0 });
    expect(await laptopRead).toEqual({ notificationId: id, success: true });
    expect(await laptopZero).toEqual({ unreadCount: 0 });

    // otto's marker arrives after anything else sent to him.
    gateway.websocket.emitToUser('otto', 'rank:updated', { oldRank: 1, newRank: 1 });
    await nextEvent(other, 'rank:updated');
    expect(otherEvents.map((e) => e.event)).toEqual(['rank:updated']);
  });

  it('mark_all_read and delete sync every device', async () => {
    const one = await connectAs(gateway.url, gateway.token('mara'));
    const two = await connectAs(gateway.url, gateway.token('mara'));
    await send(['mara'], 'first');
    const second = await send(['mara'], 'second');
    const counts = recordEvents(two);

    const zero = nextEvent(two, 'notification:unread_count');
    expect(await one.emitWithAck('notification:mark_all_read', {})).toEqual({ ok: true, unreadCount: 0 });
    expect(await zero).toEqual({ unreadCount: 0 });

    await send(['mara'], 'third');
    const deleted = nextEvent(two, 'notification:deleted');
    const id = second.body.notifications[0].id;
    const removal = await api(gateway.url, 'DELETE', `/notifications/${id}`, gateway.token('mara'));
    expect(removal).toEqual({ status: 200, body: { notificationId: id, unreadCount: 1 } });
    expect(await deleted).toEqual({ notificationId: id, success: true });
    expect(counts.filter((e) => e.event === 'notification:unread_count').map((e) => e.payload)).toEqual([
      { unreadCount: 0 },
      { unreadCount: 1 },
      { unreadCount: 1 },
    ]);

    const inbox = await api(gateway.url, 'GET', '/notifications', gateway.token('mara'));
    expect(inbox.body.items.map((n: { title: string }) => n.title)).toEqual(['third', 'first']);
  });

  it('an offline user connects to the right unread count and an inbox of what arrived', async () => {
    await send(['away'], 'one');
    const two = await send(['away'], 'two');
    await send(['away'], 'three');
    await api(gateway.url, 'PATCH', `/notifications/${two.body.notifications[0].id}/read`, gateway.token('away'));

    const socket = await connectAs(gateway.url, gateway.token('away'));
    expect(initialUnreadCount(socket)).toBe(2);
    const inbox = await api(gateway.url, 'GET', '/notifications', gateway.token('away'));
    expect(inbox.status).toBe(200);
    expect(inbox.body.items.map((n: { title: string; read: boolean }) => [n.title, n.read])).toEqual([
      ['three', false],
      ['two', true],
      ['one', false],
    ]);
    expect(inbox.body.unreadCount).toBe(2);
    const unread = await api(gateway.url, 'GET', '/notifications?unread=true', gateway.token('away'));
    expect(unread.body.items.map((n: { title: string }) => n.title)).toEqual(['three', 'one']);
  });

  it('pages newest first with a cursor', async () => {
    for (const title of ['p1', 'p2', 'p3']) await send(['pager'], title);
    const token = gateway.token('pager');
    const first = await api(gateway.url, 'GET', '/notifications?limit=2', token);
    expect(first.body.items.map((n: { title: string }) => n.title)).toEqual(['p3', 'p2']);
    const second = await api(gateway.url, 'GET', `/notifications?limit=2&cursor=${first.body.nextCursor}`, token);
    expect(second.body).toMatchObject({ nextCursor: null });
    expect(second.body.items.map((n: { title: string }) => n.title)).toEqual(['p1']);
  });

  it("does not let B read, mark or delete A's notifications, and nothing changes when B tries", async () => {
    const created = await send(['alice-2'], 'private');
    const id = created.body.notifications[0].id as string;
    const bob = gateway.token('bob-2');
    const bobSocket = await connectAs(gateway.url, bob);

    expect(await bobSocket.emitWithAck('notification:mark_read', { notificationId: id })).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: expect.any(String) },
    });
    const patch = await api(gateway.url, 'PATCH', `/notifications/${id}/read`, bob);
    const unknown = await api(gateway.url, 'PATCH', `/notifications/00000000-0000-4000-8000-000000000000/read`, bob);
    expect(patch).toEqual({ status: 404, body: { statusCode: 404, code: 'NOT_FOUND', message: 'Not found' } });
    expect(unknown.status).toBe(404);
    expect((await api(gateway.url, 'DELETE', `/notifications/${id}`, bob)).status).toBe(404);
    expect((await api(gateway.url, 'GET', '/notifications', bob)).body.items).toEqual([]);
    expect(await bobSocket.emitWithAck('notification:mark_all_read', {})).toEqual({ ok: true, unreadCount: 0 });

    const aliceInbox = await api(gateway.url, 'GET', '/notifications', gateway.token('alice-2'));
    expect(aliceInbox.body.items).toEqual([expect.objectContaining({ id, read: false })]);
    expect(aliceInbox.body.unreadCount).toBe(1);
  });

  it('refuses bad input on every endpoint and every socket command', async () => {
    const user = gateway.token('validator');
    const cases: [string, string, string | undefined, unknown, number][] = [
      ['POST', '/notifications', service, { userIds: [], title: 't', message: 'm' }, 400],
      ['POST', '/notifications', service, { userIds: Array.from({ length: 1001 }, (_, i) => `u${i}`), title: 't', message: 'm' }, 400],
      ['POST', '/notifications', service, { userIds: ['ok', 'bad id'], title: 't', message: 'm' }, 400],
      ['POST', '/notifications', service, { userIds: ['ok'], title: '', message: 'm' }, 400],
      ['POST', '/notifications', service, { userIds: ['ok'], title: 't' }, 400],
      ['POST', '/notifications', service, { userIds: ['ok'], title: 't', message: 'm', data: 'text' }, 400],
      ['POST', '/notifications', service, { userIds: ['ok'], title: 't', message: 'm', admin: true }, 400],
      ['POST', '/notifications', user, { userIds: ['ok'], title: 't', message: 'm' }, 403],
      ['POST', '/notifications', undefined, { userIds: ['ok'], title: 't', message: 'm' }, 401],
      ['GET', '/notifications?limit=0', user, undefined, 400],
      ['GET', '/notifications?limit=abc', user, undefined, 400],
      ['GET', '/notifications?unread=maybe', user, undefined, 400],
      ['GET', '/notifications?cursor=not-a-uuid', user, undefined, 400],
      ['GET', '/notifications', 'not-a-token', undefined, 401],
      ['PATCH', '/notifications/not-a-uuid/read', user, undefined, 400],
      ['DELETE', '/notifications/not-a-uuid', user, undefined, 400],
    ];
    for (const [method, path, token, body, status] of cases) {
      const response = await api(gateway.url, method, path, token, body);
      expect({ method, path, status: response.status }).toEqual({ method, path, status });
    }
    const first = await api(gateway.url, 'POST', '/notifications', service, { userIds: ['ok', 'bad id'], title: 't', message: 'm' });
    expect(first.body.details).toEqual(['each value in userIds must be 1-64 characters of A-Z a-z 0-9 _ . -']);

    const socket: TestSocket = await connectAs(gateway.url, user);
    for (const bad of [{}, { notificationId: 5 }, { notificationId: '' }, 'x']) {
      expect(await socket.emitWithAck('notification:mark_read', bad as { notificationId: string })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED' },
      });
    }
    expect(await socket.emitWithAck('notification:mark_all_read', { everything: true } as never)).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED' },
    });
    // Nothing was stored by any refused request.
    expect((await api(gateway.url, 'GET', '/notifications', gateway.token('ok'))).body.items).toEqual([]);
  });

  it('keeps only the newest NOTIFICATIONS_MAX_PER_USER per inbox, with a matching unread count', async () => {
    for (let i = 1; i <= 8; i++) await send(['hoarder'], `n${i}`);
    const inbox = await api(gateway.url, 'GET', '/notifications', gateway.token('hoarder'));
    expect(inbox.body.items.map((n: { title: string }) => n.title)).toEqual(['n8', 'n7', 'n6', 'n5', 'n4']);
    expect(inbox.body.unreadCount).toBe(5);
  });

  it('sends one notification:new to each of 1000 recipients of one POST', async () => {
    const userIds = Array.from({ length: 1000 }, (_, i) => `crowd-${i}`);
    const sockets: TestSocket[] = [];
    for (let i = 0; i < userIds.length; i += 100) {
      sockets.push(...(await Promise.all(userIds.slice(i, i + 100).map((id) => connectAs(gateway.url, gateway.token(id))))));
    }
    const received = sockets.map((socket) => recordEvents(socket));
    const created = await send(userIds, 'Broadcast');
    expect(created.status).toBe(201);
    expect(new Set(created.body.notifications.map((n: { id: string }) => n.id)).size).toBe(1000);
    // The unread count follows notification:new on each socket, so once every socket has it, every notification:new is in.
    await Promise.all(received.map((events) => events.until(countOf('notification:unread_count'))));
    received.forEach((events, i) => {
      const news = events.filter((e) => e.event === 'notification:new');
      expect(news).toHaveLength(1);
      expect((news[0]!.payload as { notification: { id: string } }).notification.id).toBe(created.body.notifications[i].id);
    });
  });
});

describe('gamification example module', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  it('emits xp, achievements and rank to the user and the leaderboard to everyone', async () => {
    const player = await connectAs(gateway.url, gateway.token('player'));
    const watcher = await connectAs(gateway.url, gateway.token('watcher'));
    const events = recordEvents(player);
    const board = nextEvent(watcher, 'leaderboard:updated');
    const game = gateway.app.get(GamificationService);
    game.awardXp('rival', 50, 'quiz');
    await board;
    const boardAgain = nextEvent(watcher, 'leaderboard:updated');
    expect(game.awardXp('player', 120, 'quiz')).toEqual({ totalXp: 120, rank: 1 });
    expect(await boardAgain).toEqual({
      leaderboard: [
        { userId: 'player', xp: 120, rank: 1 },
        { userId: 'rival', xp: 50, rank: 2 },
      ],
    });
    await events.until(countOf('leaderboard:updated', 2));
    expect(events.map((e) => e.event)).toEqual(['leaderboard:updated', 'xp:gained', 'achievement:unlocked', 'rank:updated', 'leaderboard:updated']);
    expect(events[1]!.payload).toEqual({ amount: 120, source: 'quiz', totalXp: 120 });
    expect(events[3]!.payload).toEqual({ oldRank: 2, newRank: 1 });
  });
});
