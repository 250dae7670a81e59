import type { Database as BetterSqlite3Database } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Bounds of the cache: tests set small ones. */
export interface StatementCacheLimits {
  /** Statements of up to `bulkParameters` parameters kept (every query shape the gateway builds). @default 256 */
  statements?: number;
  /** Statements with more parameters than this are bulk ones (a VALUES or IN list). @default 64 */
  bulkParameters?: number;
  /** Bulk statements kept. @default 8 */
  bulkStatements?: number;
}

type Statement = ReturnType<BetterSqlite3Database['prepare']>;

/**
 * Kysely's SQLite driver prepares every query anew; better-sqlite3 statements are reusable, and
 * preparing was the largest cost of a reading whose sensor is looked up or registered. Statement
 * texts vary only by query shape, never by value; but a bulk statement has a shape per row or id
 * count, and SQLite holds about 100 bytes per parameter of a prepared statement (about 430 KB for
 * a 1000-row insert of readings), so 256 of those had grown RSS by tens of MB. Bulk statements get
 * a small cache of their own: a writer's full batch keeps its statement, the odd-sized rest come
 * and go. Both are least-recently-used.
 */
export function withStatementCache(sqlite: BetterSqlite3Database, limits: StatementCacheLimits = {}): SqliteDatabase {
  const { statements: maxStatements = 256, bulkParameters = 64, bulkStatements: maxBulk = 8 } = limits;
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
