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

  it('deletes readings older than the retention cut, and only those', async () => {
    const cut = other[10]!.ts;
    const deletedOther = other.filter((r) => r.ts < cut).length;
    const deletedBoiler1 = [...temperature, ...pressure].filter((r) => r.ts < cut).length;
    expect(await sut.deleteBefore(cut)).toBe(deletedOther + deletedBoiler1);
    expect((await sut.raw({ sensorId: 'boiler-2', metric: 'temperature', limit: 1000 })).map((r) => r.ts)).toEqual(
      other
        .slice(10)
        .map((r) => r.ts)
        .reverse(),
    );
  });
});
