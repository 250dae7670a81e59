import { sql, type Kysely, type Migration } from 'kysely';

/** Width of a rollup row: readings are summed per series and per minute. */
export const ROLLUP_MINUTE_MS = 60_000;

/**
 * Fills `readings_1m` from `readings`, one row per series and minute (the same statement on both
 * engines). Run by the migration over the rows written before it, and by the query benchmark
 * after its bulk load; the writer keeps the table current afterwards. The minute's last reading is
 * the one with the greatest `ts` (the window's first row).
 */
export const BACKFILL_READINGS_1M = `insert into readings_1m (sensor_id, metric, minute_ts, count, sum, min, max, last_ts, last_value)
  select sensor_id, metric, minute_ts, count(*), sum(value), min(value), max(value), max(ts), max(case when newest = 1 then value end)
  from (
    select sensor_id, metric, ts, value, (ts / ${ROLLUP_MINUTE_MS}) * ${ROLLUP_MINUTE_MS} as minute_ts,
      row_number() over (partition by sensor_id, metric, ts / ${ROLLUP_MINUTE_MS} order by ts desc) as newest
    from readings
  ) r
  group by sensor_id, metric, minute_ts`;

/**
 * `readings_1m`: per series and minute, the count, sum, min, max and last reading of `readings`
 * (issue #15: a day of a series with ten readings a second is 864 000 readings, but 1440 rows
 * here). The writer upserts it in the transaction that inserts the readings, so it always
 * equals an aggregate of the readings; bucket queries of whole minutes read it.
 */
export function readingsRollup(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  const ms = pg ? 'bigint' : 'integer';
  const float = pg ? 'double precision' : 'real';
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('readings_1m')
        .addColumn('sensor_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('metric', 'varchar(64)', (c) => c.notNull())
        .addColumn('minute_ts', ms, (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('sum', float, (c) => c.notNull())
        .addColumn('min', float, (c) => c.notNull())
        .addColumn('max', float, (c) => c.notNull())
        .addColumn('last_ts', ms, (c) => c.notNull())
        .addColumn('last_value', float, (c) => c.notNull())
        .addPrimaryKeyConstraint('readings_1m_pk', ['sensor_id', 'metric', 'minute_ts'])
        // The current minute's row is updated by every batch: free space in each page lets
        // PostgreSQL update it in place (HOT, no index entry per update).
        .$call((t) => (pg ? t.modifyEnd(sql`with (fillfactor = 70)`) : t))
        .execute();
      // Retention deletes by time alone, as on `readings`.
      if (pg) await sql`create index readings_1m_minute_ts on readings_1m using brin (minute_ts)`.execute(db);
      else await db.schema.createIndex('readings_1m_minute_ts').on('readings_1m').column('minute_ts').execute();
      await sql.raw(BACKFILL_READINGS_1M).execute(db);
    },
  };
}
