import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '#redis';
import { pageOf, type AddedNotification, type ListQuery, type NewNotification, type NotificationPage, type NotificationStore, type StoredNotification } from './notification-store.js';

/*
 * Per user (one hash tag, so one cluster slot): `body` hash id -> JSON (immutable), `read` hash
 * id -> readAt, `order` sorted set by a per-user sequence, `unread` counter, `seq` counter.
 * Each change and its unread count move together inside one script.
 */
const ADD = `
local seq = redis.call('INCR', KEYS[5])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], seq, ARGV[1])
redis.call('INCR', KEYS[4])
local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[3])
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, excess - 1)) do
    redis.call('HDEL', KEYS[1], id)
    if redis.call('HDEL', KEYS[2], id) == 0 then redis.call('DECR', KEYS[4]) end
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1)
end
return tonumber(redis.call('GET', KEYS[4]))
`;
const MARK_READ = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {-1, 0} end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  return {1, redis.call('DECR', KEYS[4])}
end
return {0, tonumber(redis.call('GET', KEYS[4]) or '0')}
`;
const MARK_ALL_READ = `
local changed = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  changed = changed + redis.call('HSETNX', KEYS[2], id, ARGV[1])
end
redis.call('SET', KEYS[4], 0)
return changed
`;
const REMOVE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return redis.call('DECR', KEYS[4]) end
return tonumber(redis.call('GET', KEYS[4]) or '0')
`;

export class RedisNotificationStore implements NotificationStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly maxPerUser: number,
  ) {}

  async add(userIds: readonly string[], input: NewNotification): Promise<AddedNotification[]> {
    const createdAt = new Date().toISOString();
    const stored = userIds.map((userId): StoredNotification => ({ id: randomUUID(), userId, ...input, createdAt, readAt: null }));
    const unreadCounts = await Promise.all(
      stored.map(({ readAt: _readAt, ...body }) =>
        this.redis.client.eval(ADD, { keys: this.keys(body.userId), arguments: [body.id, JSON.stringify(body), String(this.maxPerUser)] }),
      ),
    );
    return stored.map((notification, index) => ({ ...notification, unreadCount: Number(unreadCounts[index]) }));
  }

  async list(userId: string, query: ListQuery): Promise<NotificationPage> {
    const [bodyKey, readKey, orderKey] = this.keys(userId);
    const ids = await this.redis.client.zRange(orderKey!, 0, -1, { REV: true });
    if (ids.length === 0) return { items: [], nextCursor: null };
    const [bodies, readAts] = await Promise.all([this.redis.client.hmGet(bodyKey!, ids), this.redis.client.hmGet(readKey!, ids)]);
    const newestFirst = ids.flatMap((_, i): StoredNotification[] =>
      bodies[i] ? [{ ...(JSON.parse(bodies[i]!) as Omit<StoredNotification, 'readAt'>), readAt: readAts[i] ?? null }] : [],
    );
    return pageOf(newestFirst, query);
  }

  async unreadCount(userId: string): Promise<number> {
    return Number((await this.redis.client.get(this.keys(userId)[3]!)) ?? 0);
  }

  async markRead(userId: string, id: string): Promise<{ changed: boolean; unreadCount: number } | null> {
    const [state, unread] = (await this.redis.client.eval(MARK_READ, { keys: this.keys(userId), arguments: [id, new Date().toISOString()] })) as [number, number];
    return state === -1 ? null : { changed: state === 1, unreadCount: unread };
  }

  async markAllRead(userId: string): Promise<{ changed: number; unreadCount: number }> {
    const changed = (await this.redis.client.eval(MARK_ALL_READ, { keys: this.keys(userId), arguments: [new Date().toISOString()] })) as number;
    return { changed, unreadCount: 0 };
  }

  async remove(userId: string, id: string): Promise<{ unreadCount: number } | null> {
    const unread = (await this.redis.client.eval(REMOVE, { keys: this.keys(userId), arguments: [id] })) as number;
    return unread === -1 ? null : { unreadCount: unread };
  }

  private keys(userId: string): string[] {
    const tag = `{${userId}}`;
    return ['body', 'read', 'order', 'unread', 'seq'].map((part) => this.redis.key('notifications', tag, part));
  }
}
