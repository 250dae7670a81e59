import type { Database as BetterSqlite3Database } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Bounds of the cache: tests set small ones. */
export interface StatementCacheLimits {
  /** Statements of up to `bulkParameters` parameters kept (every query shape the gateway builds). @default 256 */
  statements?: number;
  /** Statements with more parameters than this are bulk ones (a VALUES or IN list). @default 64 */
  bulkParameters?: number;
  /** Bulk statements kept: the shapes of {@link bulkChunks} and {@link paddedIdList} for each bulk query. @default 32 */
  bulkStatements?: number;
}

type Statement = ReturnType<BetterSqlite3Database['prepare']>;

/**
 * Kysely's SQLite driver prepares every query anew; better-sqlite3 statements are reusable, and
 * preparing was the largest cost of a reading whose sensor is looked up or registered. Statement
 * texts vary only by query shape, never by value; but a bulk statement has a shape per row or id
 * count, and SQLite holds about 100 bytes per parameter of a prepared statement (about 430 KB for
 * a 1000-row insert of readings), so 256 of those had grown RSS by tens of MB. Bulk statements get
 * a bounded cache of their own, and the callers cut their rows and pad their lists to a few shapes
 * ({@link bulkChunks}, {@link paddedIdList}) that it keeps. Both caches are least-recently-used.
 */
export function withStatementCache(sqlite: BetterSqlite3Database, limits: StatementCacheLimits = {}): SqliteDatabase {
  const { statements: maxStatements = 256, bulkParameters = 64, bulkStatements: maxBulk = 32 } = limits;
  const small = new Map<string, Statement>();
  const bulk = new Map<string, Statement>();
  return {
    close: () => sqlite.close(),
    prepare: (text: string) => {
      const cache = parameterCount(text, bulkParameters) > bulkParameters ? bulk : small;
      let statement = cache.get(text);
      if (statement) {
        cache.delete(text);
      } else {
        statement = sqlite.prepare(text);
        if (cache.size >= (cache === bulk ? maxBulk : maxStatements)) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, statement);
      return statement;
    },
  };
}

/** `?` placeholders in `text` (Kysely's SQLite form), counted up to one past `limit`. */
function parameterCount(text: string, limit: number): number {
  let count = 0;
  for (let at = text.indexOf('?'); at >= 0 && count <= limit; at = text.indexOf('?', at + 1)) count += 1;
  return count;
}

/**
 * Rows per bulk statement on SQLite (and ids per IN list of the notification store). SQLite has no round trip to save: a
 * 2000-reading write of 64-row statements ran at the speed of 512-row ones (about 40 000 readings/s
 * either way), and a prepared statement keeps about 100 bytes per bound parameter, so its few cached
 * shapes hold an eighth of the memory.
 */
export const SQLITE_ROWS_PER_STATEMENT = 64;

/**
 * `rows` cut for bulk statements on SQLite: full statements of `max` rows (a power of two), then
 * the rest by descending powers of two. A batch of any size then uses a few statement shapes, each
 * prepared once and kept by the cache, instead of a shape per row count prepared and freed on
 * every write (whose memory, hundreds of KB for a large one, the allocator keeps afterwards).
 */
export function bulkChunks<T>(rows: readonly T[], max: number): T[][] {
  const chunks: T[][] = [];
  let at = 0;
  for (let size = max; at < rows.length; size = size > 1 ? size >> 1 : 1) {
    while (rows.length - at >= size) chunks.push(rows.slice(at, (at += size)));
  }
  return chunks;
}

/** An IN list padded to a power of two (its last id repeated), for the same reason as {@link bulkChunks}. */
export function paddedIdList(ids: readonly string[]): string[] {
  const padded = [...ids];
  if (ids.length === 0) return padded;
  for (let size = 1 << Math.ceil(Math.log2(ids.length)); padded.length < size;) padded.push(ids[ids.length - 1]!);
  return padded;
}
