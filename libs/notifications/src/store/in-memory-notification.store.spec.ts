import { describe, expect, it } from '@jest/globals';
import { InMemoryNotificationStore } from './in-memory-notification.store.js';

const note = (title: string) => ({ title, message: `${title}!` });

describe('InMemoryNotificationStore', () => {
  it('keeps the unread count in step with every change', async () => {
    const sut = new InMemoryNotificationStore(10);
    const [a] = await sut.add(['u'], note('a'));
    const [b] = await sut.add(['u'], note('b'));
    expect(await sut.unreadCount('u')).toBe(2);
    expect(await sut.markRead('u', a!.id)).toEqual({ changed: true, unreadCount: 1 });
    expect(await sut.markRead('u', a!.id)).toEqual({ changed: false, unreadCount: 1 });
    expect(await sut.remove('u', a!.id)).toEqual({ unreadCount: 1 });
    expect(await sut.remove('u', b!.id)).toEqual({ unreadCount: 0 });
    expect(await sut.markAllRead('u')).toEqual({ changed: 0, unreadCount: 0 });
  });

  it('scopes every call to the owner', async () => {
    const sut = new InMemoryNotificationStore(10);
    const [mine] = await sut.add(['owner'], note('x'));
    expect(await sut.markRead('other', mine!.id)).toBeNull();
    expect(await sut.remove('other', mine!.id)).toBeNull();
    expect((await sut.list('other', { limit: 10 })).items).toEqual([]);
    expect(await sut.unreadCount('owner')).toBe(1);
  });

  it('drops the oldest beyond the bound, unread ones included in the count', async () => {
    const sut = new InMemoryNotificationStore(3);
    for (const title of ['1', '2', '3', '4', '5']) await sut.add(['u'], note(title));
    const page = await sut.list('u', { limit: 10 });
    expect(page.items.map((n) => n.title)).toEqual(['5', '4', '3']);
    expect(await sut.unreadCount('u')).toBe(3);
  });

  it('pages newest first, unread only when asked, and an unknown cursor gives an empty page', async () => {
    const sut = new InMemoryNotificationStore(10);
    const stored = [];
    for (const title of ['1', '2', '3', '4']) stored.push(...(await sut.add(['u'], note(title))));
    await sut.markRead('u', stored[2]!.id);
    const first = await sut.list('u', { limit: 2, unreadOnly: true });
    expect(first.items.map((n) => n.title)).toEqual(['4', '2']);
    const second = await sut.list('u', { limit: 2, unreadOnly: true, cursor: first.nextCursor! });
    expect(second).toEqual({ items: [expect.objectContaining({ title: '1' })], nextCursor: null });
    expect(await sut.list('u', { limit: 2, cursor: 'gone' })).toEqual({ items: [], nextCursor: null });
  });
});
