import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReadingPayload } from '#contracts';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/database.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { metricValue } from './support/mqtt.js';

const HOUR = 3_600_000;
/** A whole hour, 2 h ago, so every reading is in the past and bucket starts are round. */
const T0 = Math.floor((Date.now() - 2 * HOUR) / HOUR) * HOUR;

describe.each(DATABASE_KINDS)('the readings and sensors query API on %s', (kind) => {
  let database: TestDatabase;
  let gateway: TestGateway;
  let viewer: string;
  const readings: ReadingPayload[] = Array.from({ length: 240 }, (_, i) => ({
    sensorId: 'q-1',
    metric: 'power',
    value: (i % 17) * 1.5 - 3,
    unit: 'W',
    ts: T0 + i * 15_000 + (i % 4) * 7,
  }));

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    gateway = await startGateway(database.env);
    viewer = gateway.token('viewer');
    const service = gateway.token('svc', { role: 'service' });
    for (const reading of readings) expect((await api(gateway.url, 'POST', '/readings', service, reading)).status).toBe(202);
    await api(gateway.url, 'POST', '/readings', service, { sensorId: 'q-1', metric: 'voltage', value: 230, ts: T0 + 5 });
  });
  afterAll(async () => {
    await gateway.close();
    await database.drop();
  });

  it('answers raw ranges newest first, from/to as ms or ISO 8601, bounded by limit', async () => {
    const from = readings[10]!.ts;
    const to = readings[19]!.ts;
    const byMs = await api<ReadingPayload[]>(gateway.url, 'GET', `/readings?sensorId=q-1&metric=power&from=${from}&to=${to}`, viewer);
    expect(byMs.body).toEqual(readings.slice(10, 20).reverse());
    const iso = await api(
      gateway.url,
      'GET',
      `/readings?sensorId=q-1&metric=power&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
      viewer,
    );
    expect(iso.body).toEqual(byMs.body);
    expect((await api(gateway.url, 'GET', '/readings?sensorId=q-1&metric=power&limit=3', viewer)).body).toEqual(readings.slice(-3).reverse());
    // No metric: every metric of the sensor, newest first, as before.
    expect((await api<ReadingPayload[]>(gateway.url, 'GET', `/readings?sensorId=q-1&to=${T0 + 10}`, viewer)).body).toEqual([
      { sensorId: 'q-1', metric: 'voltage', value: 230, ts: T0 + 5 },
      readings[0],
    ]);
  });

  it.each(['avg', 'min', 'max', 'count', 'last'] as const)('aggregates %s per bucket, oldest first, as computed here', async (agg) => {
    for (const [bucket, size] of [
      ['1m', 60_000],
      ['5m', 300_000],
      ['1h', HOUR],
    ] as const) {
      const from = T0 + 40_000;
      const to = T0 + 50 * 60_000;
      const response = await api(gateway.url, 'GET', `/readings?sensorId=q-1&metric=power&from=${from}&to=${to}&bucket=${bucket}&agg=${agg}`, viewer);
      const groups = new Map<number, ReadingPayload[]>();
      for (const r of readings.filter((r) => r.ts >= from && r.ts <= to))
        groups.set(Math.floor(r.ts / size) * size, [...(groups.get(Math.floor(r.ts / size) * size) ?? []), r]);
      const want = [...groups.entries()].map(([ts, rs]) => {
        const values = rs.map((r) => r.value);
        const value = {
          avg: values.reduce((a, b) => a + b, 0) / values.length,
          min: Math.min(...values),
          max: Math.max(...values),
          count: values.length,
          last: rs[rs.length - 1]!.value,
        }[agg];
        return { ts, value };
      });
      expect(response.status).toBe(200);
      expect(response.body.items.map((p: { ts: number }) => p.ts)).toEqual(want.map((p) => p.ts));
      response.body.items.forEach((p: { value: number }, i: number) => expect(p.value).toBeCloseTo(want[i]!.value, 9));
    }
  });

  it('averages by default and answers an empty range with no items', async () => {
    const response = await api(gateway.url, 'GET', `/readings?sensorId=q-1&metric=power&bucket=1h&from=${T0}&to=${T0 + HOUR - 1}`, viewer);
    const values = readings.filter((r) => r.ts < T0 + HOUR).map((r) => r.value);
    expect(response.body.items).toHaveLength(1);
    expect(response.body.items[0].ts).toBe(T0);
    expect(response.body.items[0].value).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 9);
    expect((await api(gateway.url, 'GET', `/readings?sensorId=q-1&metric=power&bucket=1h&from=0&to=1000`, viewer)).body).toEqual({ items: [] });
  });

  it('refuses bad parameters with a 400 that says which', async () => {
    const cases: [string, string][] = [
      ['metric=power', 'sensorId must be 1-64 characters of A-Z a-z 0-9 _ . -'],
      ['sensorId=q-1&limit=0', 'limit must not be less than 1'],
      ['sensorId=q-1&limit=1001', 'limit must not be greater than 1000'],
      ['sensorId=q-1&from=yesterday', 'from must be ms since the epoch or an ISO 8601 date'],
      ['sensorId=q-1&to=2026-13-45T00:00:00Z', 'to must be ms since the epoch or an ISO 8601 date'],
      ['sensorId=q-1&metric=power&bucket=2w', 'bucket must be a duration from 1s to 1d such as 30s, 5m, 1h or 1d'],
      ['sensorId=q-1&metric=power&bucket=0s', 'bucket must be a duration from 1s to 1d such as 30s, 5m, 1h or 1d'],
      ['sensorId=q-1&metric=power&bucket=2d', 'bucket must be a duration from 1s to 1d such as 30s, 5m, 1h or 1d'],
      ['sensorId=q-1&metric=power&bucket=1m&agg=median', 'agg must be one of avg, min, max, count, last'],
      ['sensorId=q-1&bucket=1m', 'metric is required with bucket'],
      ['sensorId=q-1&metric=power&agg=max', 'agg needs bucket'],
      [`sensorId=q-1&metric=power&from=${T0}&to=${T0 - 1}`, 'from must not be after to'],
      // The default range is a day: 86400 one-second buckets is over the bound.
      ['sensorId=q-1&metric=power&bucket=1s', 'from-to spans 86401 buckets; at most 10000: narrow the range or widen the bucket'],
    ];
    for (const [query, message] of cases) {
      const response = await api(gateway.url, 'GET', `/readings?${query}`, viewer);
      expect({ query, status: response.status, details: response.body.details }).toEqual({ query, status: 400, details: [message] });
    }
    expect((await api(gateway.url, 'GET', '/readings?sensorId=q-1')).status).toBe(401);
    // A value whose minute sums could overflow the rollup is refused at the door, not in the writer.
    for (const [value, message] of [
      [1e301, 'value must be at most 1e300'],
      [-2e300, 'value must be at least -1e300'],
    ] as const) {
      const response = await api(gateway.url, 'POST', '/readings', gateway.token('svc', { role: 'service' }), { sensorId: 'q-1', metric: 'power', value });
      expect({ status: response.status, details: response.body.details }).toEqual({ status: 400, details: [message] });
    }
  });

  it('serves the latest value of every metric of a sensor, 404 for an unknown one', async () => {
    const last = readings[readings.length - 1]!;
    expect((await api(gateway.url, 'GET', '/sensors/q-1/latest', viewer)).body).toEqual({
      power: { value: last.value, unit: 'W', ts: last.ts },
      voltage: { value: 230, ts: T0 + 5 },
    });
    expect((await api(gateway.url, 'GET', '/sensors/nobody/latest', viewer)).status).toBe(404);
    expect((await api(gateway.url, 'GET', '/sensors/q-1/latest')).status).toBe(401);
  });

  it('pages the sensor list with limit and cursor, and refuses bad ones', async () => {
    const admin = gateway.token('root', { role: 'admin' });
    for (const id of ['p-a', 'p-b', 'p-c']) await api(gateway.url, 'POST', '/sensors', admin, { id, name: id, type: 't' });
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = (
        await api(gateway.url, 'GET', `/sensors?limit=2${cursor ? `&cursor=${cursor}` : ''}`, viewer)
      ).body;
      expect(page.items.length).toBeLessThanOrEqual(2);
      ids.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids).toEqual(['p-a', 'p-b', 'p-c', 'q-1']);
    expect((await api(gateway.url, 'GET', '/sensors?limit=0', viewer)).status).toBe(400);
    expect((await api(gateway.url, 'GET', '/sensors?limit=1001', viewer)).status).toBe(400);
    expect((await api(gateway.url, 'GET', '/sensors?cursor=a%20b', viewer)).status).toBe(400);
  });

  it('exposes the write queue and write latency in /metrics', async () => {
    const text = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
    expect(metricValue(text, 'readings_write_queue_depth')).toBe(0);
    expect(metricValue(text, 'readings_written_total')).toBe(readings.length + 1);
    expect(metricValue(text, 'readings_write_seconds_count')).toBeGreaterThan(0);
    expect(metricValue(text, 'readings_dropped_total{reason="queue_full"}')).toBe(0);
  });
});
