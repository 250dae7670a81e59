import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../../../../test/support/database.js';
import { DatabaseConnection, SQLITE_FILE } from '../database-connection.js';
import type { Database } from '../schema.js';
import { GatewayMigrations } from './index.js';

const MINUTE = 60_000;

/** Per series and minute, what `readings_1m` must hold, computed here. */
function perMinute(readings: Database['readings'][]): Record<string, unknown>[] {
  const groups = new Map<string, Database['readings'][]>();
  for (const r of readings) {
    const key = `${r.sensor_id}|${r.metric}|${String(Math.floor(r.ts / MINUTE) * MINUTE).padStart(16, '0')}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, rs]) => {
      const last = rs.reduce((a, b) => (b.ts >= a.ts ? b : a));
      return {
        sensor_id: rs[0]!.sensor_id,
        metric: rs[0]!.metric,
        minute_ts: Math.floor(rs[0]!.ts / MINUTE) * MINUTE,
        count: rs.length,
        sum: rs.reduce((n, r) => n + r.value, 0),
        min: Math.min(...rs.map((r) => r.value)),
        max: Math.max(...rs.map((r) => r.value)),
        last_ts: last.ts,
        last_value: last.value,
      };
    });
}

describe.each(DATABASE_KINDS)('migration 0003-readings-rollup on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(() => database.drop());

  it('aggregates the readings written before it into one rollup row per series and minute', async () => {
    // A database at 0002, as an older gateway left it, holding readings.
    const db = new Kysely<Database>({
      dialect:
        kind === 'postgres'
          ? new PostgresDialect({ pool: new pg.Pool({ connectionString: database.options.url }) })
          : new SqliteDialect({ database: new SQLite(resolve(database.options.dataDir!, SQLITE_FILE)) }),
    });
    let seed = 5;
    const next = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
    const readings: Database['readings'][] = [];
    const start = Date.UTC(2026, 2, 1, 23, 58, 30);
    for (const [sensor_id, metric] of [
      ['s-1', 'a'],
      ['s-1', 'b'],
      ['s-2', 'a'],
    ] as const) {
      for (let ts = start; ts < start + 10 * MINUTE; ts += 1 + Math.floor(next() * 4_000)) {
        readings.push({ sensor_id, metric, ts, value: Math.round((next() - 0.5) * 1e5) / 100, unit: null });
        // A resent reading: same time, same value.
        if (next() < 0.05) readings.push({ ...readings[readings.length - 1]! });
      }
    }
    try {
      const { error } = await new Migrator({ db, provider: new GatewayMigrations(kind) }).migrateTo('0002-alarms');
      expect(error).toBeUndefined();
      // Written in reverse order: the backfill must not depend on the order rows were stored in.
      const reversed = [...readings].reverse();
      for (let i = 0; i < reversed.length; i += 500)
        await db
          .insertInto('readings')
          .values(reversed.slice(i, i + 500))
          .execute();
    } finally {
      await db.destroy();
    }

    const connection = await DatabaseConnection.open(database.options);
    try {
      const rows = await connection.db.selectFrom('readings_1m').selectAll().orderBy('sensor_id').orderBy('metric').orderBy('minute_ts').execute();
      const want = perMinute(readings);
      expect(rows.map(({ sum: _sum, ...row }) => row)).toEqual(want.map(({ sum: _sum, ...row }) => row));
      rows.forEach((row, i) => expect(row.sum).toBeCloseTo(want[i]!['sum'] as number, 9));
    } finally {
      await connection.close();
    }
  });
});
