import { sql, type Kysely, type Transaction } from 'kysely';
import type { ReadingPayload } from '#contracts';
import { bulkChunks, ROLLUP_MINUTE_MS, SQLITE_ROWS_PER_STATEMENT, type Database, type DatabaseDialect, type Readings1mTable } from '#database';

export const AGGREGATES = ['avg', 'min', 'max', 'count', 'last'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export interface RawQuery {
  sensorId: string;
  metric?: string;
  /** Inclusive, ms epoch. */
  from?: number;
  /** Inclusive, ms epoch. */
  to?: number;
  limit: number;
}

export interface BucketQuery {
  sensorId: string;
  metric: string;
  from: number;
  to: number;
  /** Bucket width in ms; buckets start at multiples of it (since the epoch). */
  bucketMs: number;
  agg: Aggregate;
}

export interface BucketPoint {
  /** Start of the bucket. */
  ts: number;
  value: number;
}

export type LatestReadings = Record<string, { value: number; unit?: string; ts: number }>;

/**
 * The readings table, the latest reading per series and the per-minute rollup, on either engine.
 * Every query names a sensor (and a metric, or each of the sensor's metrics in turn), so each runs
 * on the `(sensor_id, metric, ts)` index (or the rollup's key) however many rows there are.
 */
export class ReadingsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DatabaseDialect,
  ) {}

  /**
   * One batch, in one transaction: the rows, the newest of each series into `latest_readings`, and
   * each (series, minute) of the batch added to its `readings_1m` row.
   */
  async insert(readings: readonly ReadingPayload[]): Promise<void> {
    if (readings.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      if (this.dialect === 'postgres') {
        // Five array parameters whatever the batch size: one round trip, no parameter limit.
        await sql`insert into readings (sensor_id, metric, ts, value, unit)
          select * from unnest(${readings.map((r) => r.sensorId)}::text[], ${readings.map((r) => r.metric)}::text[],
            ${readings.map((r) => r.ts)}::bigint[], ${readings.map((r) => r.value)}::float8[], ${readings.map((r) => r.unit ?? null)}::text[])`.execute(trx);
      } else {
        for (const chunk of bulkChunks(readings, SQLITE_ROWS_PER_STATEMENT)) await trx.insertInto('readings').values(chunk.map(toRow)).execute();
      }
      const newest = new Map<string, ReadingPayload>();
      for (const reading of readings) {
        const key = `${reading.sensorId}\u0000${reading.metric}`;
        const seen = newest.get(key);
        if (!seen || seen.ts <= reading.ts) newest.set(key, reading);
      }
      // In key order, as the rollup rows below: two instances writing the same series lock rows in one order.
      const latest = [...newest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, reading]) => reading);
      if (this.dialect === 'postgres') {
        // As arrays too: a batch over a thousand series as one row each with five parameters cost
        // more than the readings themselves (17k against 54k readings/s, the writer alone).
        await sql`insert into latest_readings (sensor_id, metric, ts, value, unit)
          select * from unnest(${latest.map((r) => r.sensorId)}::text[], ${latest.map((r) => r.metric)}::text[],
            ${latest.map((r) => r.ts)}::bigint[], ${latest.map((r) => r.value)}::float8[], ${latest.map((r) => r.unit ?? null)}::text[])
          on conflict (sensor_id, metric) do update set ts = excluded.ts, value = excluded.value, unit = excluded.unit
          where latest_readings.ts <= excluded.ts`.execute(trx);
      } else {
        for (const chunk of bulkChunks(latest, SQLITE_ROWS_PER_STATEMENT)) {
          await trx
            .insertInto('latest_readings')
            .values(chunk.map(toRow))
            .onConflict((oc) =>
              oc
                .columns(['sensor_id', 'metric'])
                .doUpdateSet((eb) => ({ ts: eb.ref('excluded.ts'), value: eb.ref('excluded.value'), unit: eb.ref('excluded.unit') }))
                // A late reading (older ts) must not replace a newer latest.
                .where('latest_readings.ts', '<=', (eb) => eb.ref('excluded.ts')),
            )
            .execute();
        }
      }
      await this.upsertMinutes(trx, readings);
    });
  }

  /** Newest first. Without a metric: each of the sensor's metrics on its index, merged. */
  async raw(query: RawQuery): Promise<ReadingPayload[]> {
    if (query.metric !== undefined) return this.rawSeries({ ...query, metric: query.metric });
    const metrics = await this.db.selectFrom('latest_readings').select('metric').where('sensor_id', '=', query.sensorId).execute();
    const perMetric = await Promise.all(metrics.map(({ metric }) => this.rawSeries({ ...query, metric })));
    return perMetric
      .flat()
      .sort((a, b) => b.ts - a.ts)
      .slice(0, query.limit);
  }

  /**
   * One point per non-empty bucket, oldest first. Buckets of whole minutes read `readings_1m` for
   * the whole minutes of the range and `readings` only for a partial minute at either end, so the
   * result is the same as over the readings themselves; other widths read the readings.
   */
  async buckets(query: BucketQuery): Promise<BucketPoint[]> {
    const span = rollupSpan(query);
    const rows = span ? await this.bucketsFromRollup(query, span) : await this.bucketsFromReadings(query);
    return rows.map((row) => ({ ts: Number(row.ts), value: Number(row.value) }));
  }

  async latest(sensorId: string): Promise<LatestReadings> {
    const rows = await this.db
      .selectFrom('latest_readings')
      .select(['metric', 'value', 'unit', 'ts'])
      .where('sensor_id', '=', sensorId)
      .orderBy('metric')
      .execute();
    return Object.fromEntries(rows.map((row) => [row.metric, { value: row.value, ...(row.unit === null ? {} : { unit: row.unit }), ts: Number(row.ts) }]));
  }

  /**
   * Retention: deletes readings older than the minute of `ts` (whole minutes, so each remaining
   * `readings_1m` row still sums exactly the readings left), then those minutes' rollup rows,
   * `chunk` rows per statement with a turn of the event loop between (SQLite runs in-process: one
   * huge delete would stall live delivery); the number of readings deleted.
   */
  async deleteBefore(ts: number, chunk = 10_000): Promise<number> {
    const cut = Math.floor(ts / ROLLUP_MINUTE_MS) * ROLLUP_MINUTE_MS;
    const deleted = await this.deleteChunked('readings', 'ts', cut, chunk);
    await this.deleteChunked('readings_1m', 'minute_ts', cut, chunk);
    return deleted;
  }

  /** `delete from <table> where <column> < cut`, `chunk` rows at a time; the rows deleted. */
  private async deleteChunked(table: 'readings' | 'readings_1m', column: 'ts' | 'minute_ts', cut: number, chunk: number): Promise<number> {
    // The physical row id of each engine picks a chunk on the time index without a key column.
    const rowId = this.dialect === 'postgres' ? sql.raw('ctid') : sql.raw('rowid');
    let total = 0;
    for (;;) {
      const result =
        await sql`delete from ${sql.table(table)} where ${rowId} in (select ${rowId} from ${sql.table(table)} where ${sql.ref(column)} < ${cut} limit ${chunk})`.execute(
          this.db,
        );
      const deleted = Number(result.numAffectedRows ?? 0);
      total += deleted;
      if (deleted < chunk) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Each (series, minute) of a batch summed here, then added to its row (created when missing). */
  private async upsertMinutes(trx: Transaction<Database>, readings: readonly ReadingPayload[]): Promise<void> {
    const minutes = new Map<string, Readings1mTable>();
    for (const r of readings) {
      const minute = Math.floor(r.ts / ROLLUP_MINUTE_MS) * ROLLUP_MINUTE_MS;
      const key = `${r.sensorId}\u0000${r.metric}\u0000${minute}`;
      const row = minutes.get(key);
      if (!row) {
        minutes.set(key, {
          sensor_id: r.sensorId,
          metric: r.metric,
          minute_ts: minute,
          count: 1,
          sum: r.value,
          min: r.value,
          max: r.value,
          last_ts: r.ts,
          last_value: r.value,
        });
        continue;
      }
      row.count += 1;
      row.sum += r.value;
      if (r.value < row.min) row.min = r.value;
      if (r.value > row.max) row.max = r.value;
      // Of equal timestamps the later one wins, in the batch as in the upsert below (as for `latest_readings`).
      if (r.ts >= row.last_ts) {
        row.last_ts = r.ts;
        row.last_value = r.value;
      }
    }
    const rows = [...minutes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
    const pg = this.dialect === 'postgres';
    // A late reading adds to its (old) minute like any other; `last` moves only to a newer one.
    const merge = sql`on conflict (sensor_id, metric, minute_ts) do update set
      count = readings_1m.count + excluded.count, sum = readings_1m.sum + excluded.sum,
      min = ${sql.raw(pg ? 'least' : 'min')}(readings_1m.min, excluded.min), max = ${sql.raw(pg ? 'greatest' : 'max')}(readings_1m.max, excluded.max),
      last_value = case when excluded.last_ts >= readings_1m.last_ts then excluded.last_value else readings_1m.last_value end,
      last_ts = ${sql.raw(pg ? 'greatest' : 'max')}(readings_1m.last_ts, excluded.last_ts)`;
    const columns = sql`readings_1m (sensor_id, metric, minute_ts, count, sum, min, max, last_ts, last_value)`;
    if (pg) {
      const column = <K extends keyof Readings1mTable>(key: K) => rows.map((row) => row[key]);
      await sql`insert into ${columns}
        select * from unnest(${column('sensor_id')}::text[], ${column('metric')}::text[], ${column('minute_ts')}::bigint[], ${column('count')}::int[],
          ${column('sum')}::float8[], ${column('min')}::float8[], ${column('max')}::float8[], ${column('last_ts')}::bigint[], ${column('last_value')}::float8[])
        ${merge}`.execute(trx);
      return;
    }
    for (const chunk of bulkChunks(rows, SQLITE_ROWS_PER_STATEMENT)) {
      const values = chunk.map(
        (r) => sql`(${r.sensor_id}, ${r.metric}, ${r.minute_ts}, ${r.count}, ${r.sum}, ${r.min}, ${r.max}, ${r.last_ts}, ${r.last_value})`,
      );
      await sql`insert into ${columns} values ${sql.join(values)} ${merge}`.execute(trx);
    }
  }

  /** `buckets` over `readings`. */
  private bucketsFromReadings({ sensorId, metric, from, to, bucketMs, agg }: BucketQuery): Promise<{ ts: number; value: number }[]> {
    const bucket = bucketOf('ts', bucketMs);
    const range = this.db.selectFrom('readings').where('sensor_id', '=', sensorId).where('metric', '=', metric).where('ts', '>=', from).where('ts', '<=', to);
    if (agg === 'last') {
      return this.db
        .selectFrom(range.select([bucket.as('ts'), 'value', sql<number>`row_number() over (partition by ${bucket} order by ts desc)`.as('rn')]).as('ranked'))
        .select(['ts', 'value'])
        .where('rn', '=', 1)
        .orderBy('ts')
        .execute();
    }
    const value = {
      avg: sql<number>`avg(value)`,
      min: sql<number>`min(value)`,
      max: sql<number>`max(value)`,
      count: sql<number>`count(*)`,
    }[agg];
    return range
      .select([bucket.as('ts'), value.as('value')])
      .groupBy(bucket)
      .orderBy(bucket)
      .execute();
  }

  /**
   * `buckets` from the rollup rows of the span's whole minutes, plus the readings of the partial
   * minutes at its edges as rows of one reading each (count 1, sum = min = max = last = value).
   */
  private bucketsFromRollup({ sensorId, metric, bucketMs, agg }: BucketQuery, span: RollupSpan): Promise<{ ts: number; value: number }[]> {
    const minutes = this.db
      .selectFrom('readings_1m')
      .where('sensor_id', '=', sensorId)
      .where('metric', '=', metric)
      .where('minute_ts', '>=', span.firstMinute)
      .where('minute_ts', '<=', span.lastMinute)
      .select([bucketOf('minute_ts', bucketMs).as('ts'), 'count as n', 'sum as total', 'min as lo', 'max as hi', 'last_ts', 'last_value']);
    const parts = span.edges.reduce(
      (union, [from, to]) =>
        union.unionAll(
          this.db
            .selectFrom('readings')
            .where('sensor_id', '=', sensorId)
            .where('metric', '=', metric)
            .where('ts', '>=', from)
            .where('ts', '<=', to)
            .select([
              bucketOf('ts', bucketMs).as('ts'),
              sql<number>`1`.as('n'),
              'value as total',
              'value as lo',
              'value as hi',
              'ts as last_ts',
              'value as last_value',
            ]),
        ),
      minutes,
    );
    if (agg === 'last') {
      const ranked = this.db
        .selectFrom(parts.as('parts'))
        .select(['ts', 'last_value as value', sql<number>`row_number() over (partition by ts order by last_ts desc)`.as('rn')]);
      return this.db.selectFrom(ranked.as('ranked')).select(['ts', 'value']).where('rn', '=', 1).orderBy('ts').execute();
    }
    const value = {
      avg: sql<number>`sum(total) / sum(n)`,
      min: sql<number>`min(lo)`,
      max: sql<number>`max(hi)`,
      count: sql<number>`sum(n)`,
    }[agg];
    return this.db
      .selectFrom(parts.as('parts'))
      .select(['ts', value.as('value')])
      .groupBy('ts')
      .orderBy('ts')
      .execute();
  }

  private async rawSeries({ sensorId, metric, from, to, limit }: RawQuery & { metric: string }): Promise<ReadingPayload[]> {
    let query = this.db
      .selectFrom('readings')
      .select(['sensor_id', 'metric', 'value', 'unit', 'ts'])
      .where('sensor_id', '=', sensorId)
      .where('metric', '=', metric);
    if (from !== undefined) query = query.where('ts', '>=', from);
    if (to !== undefined) query = query.where('ts', '<=', to);
    const rows = await query.orderBy('ts', 'desc').limit(limit).execute();
    return rows.map((row) => ({
      sensorId: row.sensor_id,
      metric: row.metric,
      value: row.value,
      ...(row.unit === null ? {} : { unit: row.unit }),
      ts: Number(row.ts),
    }));
  }
}

/** Whole minutes of a bucket query that `readings_1m` answers, and the partial minutes around them. */
interface RollupSpan {
  /** First and last minute (starts, inclusive) read from the rollup. */
  firstMinute: number;
  lastMinute: number;
  /** Inclusive ts ranges read from `readings`: the part of a minute the query's range cuts, at either end. */
  edges: [number, number][];
}

/** Null when the rollup cannot answer: buckets not made of whole minutes, or no whole minute in the range. */
function rollupSpan({ from, to, bucketMs }: BucketQuery): RollupSpan | null {
  if (bucketMs % ROLLUP_MINUTE_MS !== 0) return null;
  const firstMinute = Math.ceil(from / ROLLUP_MINUTE_MS) * ROLLUP_MINUTE_MS;
  // The minute after the last whole one: `to` is inclusive, so a minute ending at `to` is whole.
  const end = Math.floor((to + 1) / ROLLUP_MINUTE_MS) * ROLLUP_MINUTE_MS;
  if (firstMinute >= end) return null;
  const edges: [number, number][] = [];
  if (from < firstMinute) edges.push([from, firstMinute - 1]);
  if (end <= to) edges.push([end, to]);
  return { firstMinute, lastMinute: end - ROLLUP_MINUTE_MS, edges };
}

/** The start of `column`'s bucket: integer arithmetic on integer ms, the same on both engines (the width is a validated integer, inlined). */
function bucketOf(column: 'ts' | 'minute_ts', bucketMs: number) {
  return sql<number>`(${sql.ref(column)} / ${sql.lit(bucketMs)}) * ${sql.lit(bucketMs)}`;
}

function toRow(reading: ReadingPayload): Database['readings'] {
  return { sensor_id: reading.sensorId, metric: reading.metric, ts: reading.ts, value: reading.value, unit: reading.unit ?? null };
}
