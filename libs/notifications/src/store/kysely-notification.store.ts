import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { bulkChunks, paddedIdList, SQLITE_ROWS_PER_STATEMENT, type Database, type DatabaseDialect, type NotificationsTable } from '#database';
import type { AddedNotification, ListQuery, NewNotification, NotificationPage, NotificationStore, StoredNotification } from './notification-store.js';

/**
 * The inbox in the gateway's database (SQLite or PostgreSQL): one row per notification and
 * recipient, ordered by an insertion sequence. Each add trims the user's inbox to `maxPerUser` in
 * the same transaction, and the unread count it reports is read inside it.
 */
export class KyselyNotificationStore implements NotificationStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DatabaseDialect,
    private readonly maxPerUser: number,
  ) {}

  async add(userIds: readonly string[], input: NewNotification): Promise<AddedNotification[]> {
    const createdAt = Date.now();
    const data = input.data === undefined ? null : JSON.stringify(input.data);
    const rows = userIds.map((userId) => ({
      id: randomUUID(),
      user_id: userId,
      title: input.title,
      message: input.message,
      data,
      created_at: createdAt,
      read_at: null,
    }));
    // A few statements whatever the number of recipients: insert all, count per user, trim only the full inboxes.
    const unread = await this.db.transaction().execute(async (trx) => {
      if (this.dialect === 'postgres') {
        // Two array parameters whatever the number of recipients (the rest is the same in every row):
        // seven parameters per row made a notification to 1000 users spend 40 ms in this insert, 12 ms so.
        await sql`insert into notifications (id, user_id, title, message, data, created_at, read_at)
          select r.id, r.user_id, ${input.title}::varchar, ${input.message}::text, ${data}::text, ${createdAt}::bigint, null
          from unnest(${rows.map((row) => row.id)}::varchar[], ${rows.map((row) => row.user_id)}::varchar[]) as r(id, user_id)`.execute(trx);
      } else {
        for (const chunk of bulkChunks(rows, SQLITE_ROWS_PER_STATEMENT)) await trx.insertInto('notifications').values(chunk).execute();
      }
      const counts = await this.countsOf(trx, userIds);
      for (const [userId, { total }] of counts) {
        if (total > this.maxPerUser) await this.trim(trx, userId);
      }
      const full = [...counts].filter(([, { total }]) => total > this.maxPerUser).map(([userId]) => userId);
      const recounted = full.length > 0 ? await this.countsOf(trx, full) : new Map<string, { total: number; unread: number }>();
      return (userId: string) => (recounted.get(userId) ?? counts.get(userId))?.unread ?? 0;
    });
    const iso = new Date(createdAt).toISOString();
    return rows.map((row): AddedNotification => ({
      id: row.id,
      userId: row.user_id,
      ...input,
      createdAt: iso,
      readAt: null,
      unreadCount: unread(row.user_id),
    }));
  }

  async list(userId: string, { unreadOnly = false, limit, cursor }: ListQuery): Promise<NotificationPage> {
    let query = this.db.selectFrom('notifications').selectAll().where('user_id', '=', userId);
    if (cursor !== undefined) {
      // An unknown cursor (trimmed, deleted, another user's) gives an empty page, not page one again.
      const at = await this.db.selectFrom('notifications').select('seq').where('user_id', '=', userId).where('id', '=', cursor).executeTakeFirst();
      if (!at) return { items: [], nextCursor: null };
      query = query.where('seq', '<', at.seq);
    }
    if (unreadOnly) query = query.where('read_at', 'is', null);
    const rows = await query
      .orderBy('seq', 'desc')
      .limit(limit + 1)
      .execute();
    const items = rows.slice(0, limit).map(toStored);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
  }

  unreadCount(userId: string): Promise<number> {
    return this.countUnread(this.db, userId);
  }

  async markRead(userId: string, id: string): Promise<{ changed: boolean; unreadCount: number } | null> {
    const result = await this.db
      .updateTable('notifications')
      .set({ read_at: Date.now() })
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .where('read_at', 'is', null)
      .executeTakeFirst();
    const changed = Number(result.numUpdatedRows) > 0;
    if (!changed && !(await this.db.selectFrom('notifications').select('id').where('user_id', '=', userId).where('id', '=', id).executeTakeFirst()))
      return null;
    return { changed, unreadCount: await this.unreadCount(userId) };
  }

  async markAllRead(userId: string): Promise<{ changed: number; unreadCount: number }> {
    const result = await this.db
      .updateTable('notifications')
      .set({ read_at: Date.now() })
      .where('user_id', '=', userId)
      .where('read_at', 'is', null)
      .executeTakeFirst();
    return { changed: Number(result.numUpdatedRows), unreadCount: 0 };
  }

  async remove(userId: string, id: string): Promise<{ unreadCount: number } | null> {
    const result = await this.db.deleteFrom('notifications').where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) return null;
    return { unreadCount: await this.unreadCount(userId) };
  }

  /** Drops the user's oldest beyond the bound: everything at or below the seq of the (max+1)-th newest. */
  private async trim(db: Kysely<Database>, userId: string): Promise<void> {
    const edge = await db
      .selectFrom('notifications')
      .select('seq')
      .where('user_id', '=', userId)
      .orderBy('seq', 'desc')
      .limit(1)
      .offset(this.maxPerUser)
      .executeTakeFirst();
    if (edge) await db.deleteFrom('notifications').where('user_id', '=', userId).where('seq', '<=', edge.seq).execute();
  }

  /** Per user: notifications held and unread ones. */
  private async countsOf(db: Kysely<Database>, userIds: readonly string[]): Promise<Map<string, { total: number; unread: number }>> {
    const counts = new Map<string, { total: number; unread: number }>();
    const unique = [...new Set(userIds)];
    // PostgreSQL takes every id as one array parameter; SQLite, in lists under its parameter limit.
    const perStatement = this.dialect === 'postgres' ? unique.length : SQLITE_ROWS_PER_STATEMENT;
    for (let i = 0; i < unique.length; i += perStatement) {
      const ids = unique.slice(i, i + perStatement);
      const rows = await db
        .selectFrom('notifications')
        .select((eb) => ['user_id', eb.fn.countAll<number>().as('total'), eb.fn.count<number>('id').filterWhere('read_at', 'is', null).as('unread')])
        .where(this.dialect === 'postgres' ? sql<boolean>`user_id = any(${ids}::varchar[])` : (eb) => eb('user_id', 'in', paddedIdList(ids)))
        .groupBy('user_id')
        .execute();
      for (const row of rows) counts.set(row.user_id, { total: Number(row.total), unread: Number(row.unread) });
    }
    return counts;
  }

  private async countUnread(db: Kysely<Database>, userId: string): Promise<number> {
    const row = await db
      .selectFrom('notifications')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('read_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

function toStored(row: Selectable<NotificationsTable>): StoredNotification {
  return {
    id: row.id,
    userId: row.user_id,
    title: row.title,
    message: row.message,
    ...(row.data === null ? {} : { data: JSON.parse(row.data) as unknown }),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    readAt: row.read_at === null ? null : new Date(Number(row.read_at)).toISOString(),
  };
}
