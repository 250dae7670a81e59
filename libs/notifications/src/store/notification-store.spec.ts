import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DATABASE_KINDS, openTestDatabase } from '../../../../test/support/database.js';
import { KyselyNotificationStore } from './kysely-notification.store.js';
import type { NotificationStore } from './notification-store.js';

const note = (title: string) => ({ title, message: `${title}!` });

let run = 0;

/** The one implementation, on both engines; each test gets fresh user ids. */
describe.each(DATABASE_KINDS)('KyselyNotificationStore on %s', (kind) => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(() => database.close());
  const create = (max: number): NotificationStore => new KyselyNotificationStore(database.connection.db, database.connection.dialect, max);

  let u: string;
  const fresh = (max = 10) => {
    u = `user-${++run}`;
    return create(max);
  };

  it('keeps the unread count in step with every change', async () => {
    const sut = fresh();
    const [a] = await sut.add([u], note('a'));
    const [b] = await sut.add([u], note('b'));
    expect([a!.unreadCount, b!.unreadCount]).toEqual([1, 2]);
    expect(await sut.unreadCount(u)).toBe(2);
    expect(await sut.markRead(u, a!.id)).toEqual({ changed: true, unreadCount: 1 });
    expect(await sut.markRead(u, a!.id)).toEqual({ changed: false, unreadCount: 1 });
    expect(await sut.remove(u, a!.id)).toEqual({ unreadCount: 1 });
    expect(await sut.remove(u, b!.id)).toEqual({ unreadCount: 0 });
    expect(await sut.markAllRead(u)).toEqual({ changed: 0, unreadCount: 0 });
    await sut.add([u], note('c'));
    await sut.add([u], note('d'));
    expect(await sut.markAllRead(u)).toEqual({ changed: 2, unreadCount: 0 });
    expect((await sut.list(u, { limit: 10 })).items.every((n) => n.readAt !== null)).toBe(true);
  });

  it('scopes every call to the owner', async () => {
    const sut = fresh();
    const owner = u;
    const [mine] = await sut.add([owner], note('x'));
    const other = `${owner}-other`;
    expect(await sut.markRead(other, mine!.id)).toBeNull();
    expect(await sut.remove(other, mine!.id)).toBeNull();
    expect((await sut.list(other, { limit: 10 })).items).toEqual([]);
    expect(await sut.unreadCount(owner)).toBe(1);
  });

  it('drops the oldest beyond the bound, unread ones included in the count', async () => {
    const sut = fresh(3);
    const stored = [];
    for (const title of ['1', '2', '3', '4', '5']) stored.push(...(await sut.add([u], note(title))));
    // The count each add reports already has the dropped (unread) ones taken off.
    expect(stored.map((n) => n.unreadCount)).toEqual([1, 2, 3, 3, 3]);
    await sut.markRead(u, stored[4]!.id);
    const page = await sut.list(u, { limit: 10 });
    expect(page.items.map((n) => n.title)).toEqual(['5', '4', '3']);
    expect(await sut.unreadCount(u)).toBe(2);
  });

  it('pages newest first, unread only when asked, and an unknown cursor gives an empty page', async () => {
    const sut = fresh();
    const stored = [];
    for (const title of ['1', '2', '3', '4']) stored.push(...(await sut.add([u], note(title))));
    await sut.markRead(u, stored[2]!.id);
    const first = await sut.list(u, { limit: 2, unreadOnly: true });
    expect(first.items.map((n) => n.title)).toEqual(['4', '2']);
    const second = await sut.list(u, { limit: 2, unreadOnly: true, cursor: first.nextCursor! });
    expect(second).toEqual({ items: [expect.objectContaining({ title: '1', userId: u, readAt: null })], nextCursor: null });
    expect(await sut.list(u, { limit: 2, cursor: 'gone' })).toEqual({ items: [], nextCursor: null });
    // Another user's id as a cursor is unknown too.
    expect(await sut.list(`${u}-other`, { limit: 2, cursor: stored[0]!.id })).toEqual({ items: [], nextCursor: null });
  });

  it('gives every recipient of one add their own notification', async () => {
    const sut = fresh();
    const recipients = [`${u}-a`, `${u}-b`];
    const stored = await sut.add(recipients, { ...note('shared'), data: { k: 1 } });
    expect(stored.map((n) => n.userId)).toEqual(recipients);
    expect(new Set(stored.map((n) => n.id)).size).toBe(2);
    const { unreadCount, ...body } = stored[1]!;
    expect(unreadCount).toBe(1);
    expect((await sut.list(recipients[1]!, { limit: 5 })).items).toEqual([{ ...body, readAt: null }]);
  });

  it('stores one add for more recipients than one statement takes, each with its own count and bound', async () => {
    const sut = fresh(2);
    const recipients = Array.from({ length: 1200 }, (_, n) => `${u}-r${n}`);
    await sut.add([recipients[0]!, recipients[1]!], note('earlier'));
    await sut.add([recipients[0]!], note('earlier 2'));
    const stored = await sut.add(recipients, note('broadcast'));
    expect(stored).toHaveLength(1200);
    // r0 was full (2 of 2): the oldest went and the count stays 2; r1 had 1; everyone else 0.
    expect(stored.slice(0, 3).map((n) => n.unreadCount)).toEqual([2, 2, 1]);
    expect(new Set(stored.slice(2).map((n) => n.unreadCount))).toEqual(new Set([1]));
    expect((await sut.list(recipients[0]!, { limit: 10 })).items.map((n) => n.title)).toEqual(['broadcast', 'earlier 2']);
    expect(await sut.unreadCount(recipients[1199]!)).toBe(1);
  });
});
