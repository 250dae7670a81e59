import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReadingPayload } from '#contracts';
import { DATABASE_KINDS, openTestDatabase } from '../../../../test/support/database.js';
import { AGGREGATES, ReadingsRepository, type Aggregate } from './readings.repository.js';

const MINUTE = 60_000;
/** A minute boundary, so bucket starts are easy to state. */
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A deterministic pseudo-random walk: values with fractions, gaps and several readings per bucket. */
function series(sensorId: string, metric: string, count: number, stepMs: number, start = T0): ReadingPayload[] {
  let seed = 7;
  const next = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
  return Array.from({ length: count }, (_, i) => ({
    sensorId,
    metric,
    value: Math.round((20 + 10 * Math.sin(i / 7) + next()) * 1000) / 1000,
    unit: 'C',
    ts: start + i * stepMs + Math.floor(next() * 1000),
  }));
}

/** What each aggregate should be, computed here from the readings themselves. */
function expected(readings: ReadingPayload[], bucketMs: number, agg: Aggregate, from: number, to: number): { ts: number; value: number }[] {
  const groups = new Map<number, ReadingPayload[]>();
  for (const r of readings.filter((r) => r.ts >= from && r.ts <= to)) {
    const start = Math.floor(r.ts / bucketMs) * bucketMs;
    groups.set(start, [...(groups.get(start) ?? []), r]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([ts, rs]) => {
      const values = rs.map((r) => r.value);
      const value = {
        avg: values.reduce((a, b) => a + b, 0) / values.length,
        min: Math.min(...values),
        max: Math.max(...values),
        count: values.length,
        last: rs.reduce((a, b) => (b.ts >= a.ts ? b : a)).value,
      }[agg];
      return { ts, value };
    });
}

describe.each(DATABASE_KINDS)('ReadingsRepository on %s', (kind) => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let sut: ReadingsRepository;
  const temperature = series('boiler-1', 'temperature', 600, 7_000);
  const pressure = series('boiler-1', 'pressure', 50, 60_000).map((r) => ({ ...r, unit: undefined as unknown as string }));
  const other = series('boiler-2', 'temperature', 20, 1_000);

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    sut = new ReadingsRepository(database.connection.db, database.connection.dialect);
    // Several batches, out of order across them, as several flushes would write them.
    await sut.insert(temperature.slice(300));
    await sut.insert([...temperature.slice(0, 300), ...pressure.map(({ unit: _unit, ...r }) => r)]);
    await sut.insert(other);
  });
  afterAll(() => database.close());

  it('returns raw readings newest first within an inclusive range, bounded by limit', async () => {
    const newest = await sut.raw({ sensorId: 'boiler-1', metric: 'temperature', limit: 5 });
    expect(newest).toEqual(temperature.slice(-5).reverse());
    const from = temperature[100]!.ts;
    const to = temperature[109]!.ts;
    expect(await sut.raw({ sensorId: 'boiler-1', metric: 'temperature', from, to, limit: 1000 })).toEqual(temperature.slice(100, 110).reverse());
    expect(await sut.raw({ sensorId: 'boiler-1', metric: 'temperature', from: to + 1, to: from, limit: 10 })).toEqual([]);
    expect(await sut.raw({ sensorId: 'nobody', metric: 'temperature', limit: 10 })).toEqual([]);
  });

  it('merges every metric of the sensor when none is named, leaving out a missing unit', async () => {
    const all = [...temperature, ...pressure.map(({ unit: _unit, ...r }) => r)].sort((a, b) => b.ts - a.ts);
    const to = T0 + 10 * MINUTE;
    const merged = await sut.raw({ sensorId: 'boiler-1', to, limit: 40 });
    const want = all.filter((r) => r.ts <= to).slice(0, 40);
    expect(merged.map((r) => [r.metric, r.ts])).toEqual(want.map((r) => [r.metric, r.ts]));
    expect(merged.filter((r) => r.metric === 'pressure').length).toBeGreaterThan(0);
    for (const reading of merged.filter((r) => r.metric === 'pressure')) expect(reading).not.toHaveProperty('unit');
  });

  it.each(AGGREGATES)('computes %s per bucket, oldest first, equal to the values computed here', async (agg) => {
    for (const bucketMs of [MINUTE, 5 * MINUTE, 3_600_000]) {
      const from = T0 + 123_456;
      const to = T0 + 3_000_000;
      const items = await sut.buckets({ sensorId: 'boiler-1', metric: 'temperature', from, to, bucketMs, agg });
      const want = expected(temperature, bucketMs, agg, from, to);
      expect(items.map((p) => p.ts)).toEqual(want.map((p) => p.ts));
      items.forEach((point, i) => expect(point.value).toBeCloseTo(want[i]!.value, 9));
    }
  });

  it('keeps the newest reading per metric, even when an older one arrives later', async () => {
    const newest = temperature[temperature.length - 1]!;
    await sut.insert([{ ...newest, ts: newest.ts - 1, value: -99 }]);
    expect(await sut.latest('boiler-1')).toEqual({
      pressure: { value: pressure[pressure.length - 1]!.value, ts: pressure[pressure.length - 1]!.ts },
      temperature: { value: newest.value, unit: 'C', ts: newest.ts },
    });
    expect(await sut.latest('nobody')).toEqual({});
  });

  it('writes one batch of 10,000 readings from as many series (five merged batches of the writer): every row, every latest, every minute', async () => {
    // A month after the other series: out of reach of the retention test's cut.
    const W0 = T0 + 30 * 86_400_000;
    const many = Array.from({ length: 10_000 }, (_, i): ReadingPayload => ({
      sensorId: `wide-${i % 2000}`,
      metric: `m${Math.floor(i / 2000)}`,
      value: i,
      ts: W0 + i,
    }));
    await sut.insert(many);
    const db = database.connection.db;
    const count = async (table: 'readings' | 'latest_readings' | 'readings_1m') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .where('sensor_id', 'like', 'wide-%')
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect([await count('readings'), await count('latest_readings'), await count('readings_1m')]).toEqual([10_000, 10_000, 10_000]);
    expect(await sut.latest('wide-1999')).toEqual({
      m0: { value: 1999, ts: W0 + 1999 },
      m1: { value: 3999, ts: W0 + 3999 },
      m2: { value: 5999, ts: W0 + 5999 },
      m3: { value: 7999, ts: W0 + 7999 },
      m4: { value: 9999, ts: W0 + 9999 },
    });
  });

  it('deletes readings older than the minute of the retention cut, and only those', async () => {
    // Cut inside a minute: retention works in whole minutes (the rollup's), so the cut is that minute's start.
    const cut = T0 + 17 * MINUTE + 12_345;
    const kept = (r: ReadingPayload) => r.ts >= T0 + 17 * MINUTE;
    const late = { ...temperature[temperature.length - 1]!, ts: temperature[temperature.length - 1]!.ts - 1, value: -99 };
    const deleted = [...temperature, ...pressure, ...other].filter((r) => !kept(r)).length;
    expect(deleted).toBeGreaterThan(0);
    expect(await sut.deleteBefore(cut)).toBe(deleted);
    expect((await sut.raw({ sensorId: 'boiler-1', metric: 'temperature', limit: 1000 })).map((r) => r.ts)).toEqual(
      [...temperature, late]
        .filter(kept)
        .map((r) => r.ts)
        .sort((a, b) => b - a),
    );
    // The rollup lost the same minutes: aggregates over everything are those of what is left.
    for (const agg of AGGREGATES) {
      const items = await sut.buckets({ sensorId: 'boiler-1', metric: 'temperature', from: T0, to: T0 + 3 * 3_600_000, bucketMs: 5 * MINUTE, agg });
      const want = expected([...temperature, late].filter(kept), 5 * MINUTE, agg, T0, T0 + 3 * 3_600_000);
      expect(items.map((p) => p.ts)).toEqual(want.map((p) => p.ts));
      items.forEach((point, i) => expect(point.value).toBeCloseTo(want[i]!.value, 9));
    }
    const [{ oldest }] = await database.connection.db
      .selectFrom('readings_1m')
      .select((eb) => eb.fn.min('minute_ts').as('oldest'))
      .execute();
    expect(Number(oldest)).toBe(T0 + 17 * MINUTE);
  });
});

/** A deterministic generator in [0, 1). */
function random(seed: number): () => number {
  return () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
}

describe.each(DATABASE_KINDS)('ReadingsRepository rollup on %s', (kind) => {
  const HOUR = 3_600_000;
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let sut: ReadingsRepository;
  const next = random(11);
  // Three hours around an hour edge, 1-4 readings in most seconds' neighbourhood, some minutes empty;
  // distinct timestamps, plus a few resent readings (same ts, same value: `last` stays well defined).
  const start = T0 + 7 * HOUR - 37 * MINUTE - 12_345;
  const readings: ReadingPayload[] = [];
  for (let ts = start; ts < start + 3 * HOUR; ts += 1 + Math.floor(next() * 9_000)) {
    if (Math.floor(ts / MINUTE) % 17 === 5) continue;
    readings.push({ sensorId: 'r-1', metric: 'v', value: Math.round((next() - 0.3) * 1e6) / 1e3, ts });
    if (next() < 0.02) readings.push({ ...readings[readings.length - 1]! });
  }

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    sut = new ReadingsRepository(database.connection.db, database.connection.dialect);
    // Shuffled into batches of varied sizes: later batches bring readings of minutes already
    // written (late, out of order), and one minute's readings arrive across several batches.
    const shuffled = [...readings];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const inOrder = readings.slice(0, Math.floor(readings.length / 2));
    await sut.insert(inOrder);
    const rest = shuffled.filter((r) => !inOrder.includes(r));
    for (let i = 0; i < rest.length;) {
      const size = 1 + Math.floor(next() * 400);
      await sut.insert(rest.slice(i, i + size));
      i += size;
    }
    // Another series in the same minutes must not leak into this one.
    await sut.insert(readings.map((r) => ({ ...r, metric: 'w', value: r.value + 1000 })));
  });
  afterAll(() => database.close());

  it('keeps one row per series and minute equal to the aggregate of its readings', async () => {
    const rows = await database.connection.db.selectFrom('readings_1m').selectAll().where('metric', '=', 'v').orderBy('minute_ts').execute();
    const minutes = expected(readings, MINUTE, 'count', 0, Number.MAX_SAFE_INTEGER);
    expect(rows.map((r) => [r.sensor_id, Number(r.minute_ts), Number(r.count)])).toEqual(minutes.map((m) => ['r-1', m.ts, m.value]));
    for (const agg of ['min', 'max', 'last'] as const) {
      const want = expected(readings, MINUTE, agg, 0, Number.MAX_SAFE_INTEGER).map((m) => m.value);
      expect(rows.map((r) => (agg === 'last' ? r.last_value : r[agg]))).toEqual(want);
    }
    const sums = expected(readings, MINUTE, 'avg', 0, Number.MAX_SAFE_INTEGER).map((m, i) => m.value * minutes[i]!.value);
    rows.forEach((row, i) => expect(row.sum).toBeCloseTo(sums[i]!, 9));
  });

  it.each(AGGREGATES)('answers %s over any range equal to the readings themselves, whole-minute buckets or not', async (agg) => {
    const edge = T0 + 7 * HOUR;
    const ranges: [number, number][] = [
      [start, start + 3 * HOUR], // everything
      [edge - HOUR, edge + HOUR - 1], // whole minutes only
      [edge - 20 * MINUTE + 1, edge + 20 * MINUTE - 1], // a partial minute at each end
      [edge - 20 * MINUTE - 1, edge + 20 * MINUTE], // a millisecond of a minute at each end
      [edge + 10_000, edge + 50_000], // inside one minute
      [edge - 30_000, edge + 30_000], // two partial minutes, no whole one
      [edge - MINUTE, edge - 1], // exactly one whole minute
      [edge, edge], // one instant
    ];
    for (let i = 0; i < 12; i++) {
      const a = start + Math.floor(next() * 3 * HOUR);
      ranges.push([a, a + Math.floor(next() * 2 * HOUR)]);
    }
    for (const [from, to] of ranges) {
      for (const bucketMs of [MINUTE, 2 * MINUTE, 15 * MINUTE, HOUR, 86_400_000, 30_000, 90_000]) {
        const items = await sut.buckets({ sensorId: 'r-1', metric: 'v', from, to, bucketMs, agg });
        const want = expected(readings, bucketMs, agg, from, to);
        expect([from, to, bucketMs, items.map((p) => p.ts)]).toEqual([from, to, bucketMs, want.map((p) => p.ts)]);
        items.forEach((point, i) => {
          if (agg === 'avg') expect(point.value).toBeCloseTo(want[i]!.value, 9);
          else expect(point.value).toBe(want[i]!.value);
        });
      }
    }
  });

  it('reads whole minutes from the rollup and only the partial ones from the readings', async () => {
    // Change one stored minute behind the repository's back: whole-minute buckets see it, others do not.
    const minute = Math.floor((T0 + 7 * HOUR + 5 * MINUTE) / MINUTE) * MINUTE;
    await database.connection.db
      .updateTable('readings_1m')
      .set((eb) => ({ count: eb('count', '+', 1000) }))
      .where('metric', '=', 'w')
      .where('minute_ts', '=', minute)
      .execute();
    const count = (from: number, to: number, bucketMs: number) =>
      sut.buckets({ sensorId: 'r-1', metric: 'w', from, to, bucketMs, agg: 'count' }).then((items) => items.reduce((n, p) => n + p.value, 0));
    const inMinute = readings.filter((r) => r.ts >= minute && r.ts < minute + MINUTE).length;
    expect(await count(minute, minute + MINUTE - 1, MINUTE)).toBe(inMinute + 1000);
    expect(await count(minute, minute + MINUTE - 1, 30_000)).toBe(inMinute);
    // Cut by a millisecond at the start: the minute is partial, so its readings are read.
    expect(await count(minute + 1, minute + MINUTE - 1, MINUTE)).toBe(readings.filter((r) => r.ts > minute && r.ts < minute + MINUTE).length);
  });
});
