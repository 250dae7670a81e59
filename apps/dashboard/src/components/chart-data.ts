import type { AnomalyPayload, PredictionPayload, ReadingPayload } from '#contracts';

/** Points kept per line, whatever the range: a fast sensor must not grow the page without bound. */
export const MAX_READINGS = 2000;

/**
 * The chart ranges. Short ones draw raw readings; long ones ask the query API for buckets so a week
 * is a few hundred points, not hundreds of thousands.
 */
export const RANGES = {
  '15m': { label: '15 min', ms: 15 * 60_000, bucket: null, bucketMs: null },
  '1h': { label: '1 h', ms: 60 * 60_000, bucket: '10s', bucketMs: 10_000 },
  '24h': { label: '24 h', ms: 24 * 60 * 60_000, bucket: '5m', bucketMs: 5 * 60_000 },
  '7d': { label: '7 d', ms: 7 * 24 * 60 * 60_000, bucket: '30m', bucketMs: 30 * 60_000 },
} as const;
export type RangeName = keyof typeof RANGES;
/** Raw readings asked for on a short range: 15 min at one reading a second, with room. */
export const RAW_HISTORY_LIMIT = 1000;

/** `GET /api/v1/readings` for one series over `range` ending at `now`: raw readings or `avg` buckets. */
export function historyPath(sensorId: string, metric: string, range: RangeName, now: number): string {
  const { ms, bucket } = RANGES[range];
  const query = new URLSearchParams({ sensorId, metric, from: String(now - ms), to: String(now) });
  if (bucket) {
    query.set('bucket', bucket);
    query.set('agg', 'avg');
  } else {
    query.set('limit', String(RAW_HISTORY_LIMIT));
  }
  return `readings?${query.toString()}`;
}

/** Raw answers are readings newest first; bucketed answers are `{ items }` oldest first. Either way: points oldest first. */
export function historyPoints(body: unknown): Point[] {
  const rows: unknown[] = Array.isArray(body) ? body : Array.isArray((body as { items?: unknown })?.items) ? (body as { items: unknown[] }).items : [];
  const points: Point[] = [];
  for (const row of rows) {
    const { ts, value } = row as { ts?: unknown; value?: unknown };
    if (typeof ts === 'number' && typeof value === 'number') points.push({ ts, value });
  }
  return points.sort((a, b) => a.ts - b.ts);
}

/**
 * The newest timestamp a history answer stands for: its last reading, or the end of its last bucket
 * (that bucket's average already holds the readings in it, which must not be drawn again beside it).
 */
export function historyCoverage(range: RangeName, history: Point[]): number {
  const last = history.at(-1)?.ts;
  if (last === undefined) return -Infinity;
  const { bucketMs } = RANGES[range];
  return bucketMs === null ? last : last + bucketMs - 1;
}

export interface Point {
  ts: number;
  value: number;
}

/** One sensor metric's line: recent readings, the latest forecast and the anomalies among the readings. */
export interface MetricSeries {
  key: string;
  sensorId: string;
  metric: string;
  unit?: string;
  readings: Point[];
  forecast: Point[];
  anomalies: (Point & { severity: AnomalyPayload['severity'] })[];
}

export const seriesKey = (sensorId: string, metric: string): string => `${sensorId}/${metric}`;

/** Live series by key, mutated in place as events arrive (the chart redraws on its own schedule). */
export class SeriesBook {
  readonly series = new Map<string, MetricSeries>();
  /** How far back a line reaches; older points scroll out as new ones arrive. */
  windowMs: number = RANGES['15m'].ms;

  /** Creates the series if it is new, so a sensor shows its chart before its next reading. */
  entry(sensorId: string, metric: string): MetricSeries {
    const key = seriesKey(sensorId, metric);
    let series = this.series.get(key);
    if (!series) {
      series = { key, sensorId, metric, readings: [], forecast: [], anomalies: [] };
      this.series.set(key, series);
    }
    return series;
  }

  addReading({ sensorId, metric, value, unit, ts }: ReadingPayload): void {
    const series = this.entry(sensorId, metric);
    if (unit) series.unit = unit;
    const { readings } = series;
    // Readings from one device arrive in order; a late one is placed, not appended. One already
    // there (a replayed reading the history also holds) replaces its point instead of doubling it.
    let index = readings.length;
    while (index > 0 && readings[index - 1]!.ts > ts) index -= 1;
    if (index > 0 && readings[index - 1]!.ts === ts) readings[index - 1] = { ts, value };
    else readings.splice(index, 0, { ts, value });
    this.trim(series);
  }

  /**
   * Lays stored history under the live line: history up to what it covers (its last point, or with
   * buckets the end of the last one: see {@link historyCoverage}), then the live readings that came
   * after it (those that arrived while the request was in flight are kept, not doubled).
   */
  loadHistory(sensorId: string, metric: string, history: Point[], coveredUntil = history.at(-1)?.ts ?? -Infinity): void {
    const series = this.entry(sensorId, metric);
    series.readings = [...history, ...series.readings.filter((point) => point.ts > coveredUntil)];
    this.trim(series);
  }

  /** Keeps a line within the window and the point bound, and its anomaly marks on the line. */
  private trim(series: MetricSeries): void {
    const { readings } = series;
    const newest = readings.at(-1)?.ts;
    if (newest === undefined) return;
    const cutoff = newest - this.windowMs;
    let drop = Math.max(0, readings.length - MAX_READINGS);
    while (drop < readings.length - 1 && readings[drop]!.ts < cutoff) drop++;
    if (drop > 0) readings.splice(0, drop);
    const oldest = readings[0]!.ts;
    if (series.anomalies.length > 0 && series.anomalies[0]!.ts < oldest) series.anomalies = series.anomalies.filter((point) => point.ts >= oldest);
  }

  addPrediction({ sensorId, metric, points }: PredictionPayload): void {
    this.entry(sensorId, metric).forecast = points.map(({ ts, value }) => ({ ts, value }));
  }

  addAnomaly({ sensorId, metric, value, ts, severity }: AnomalyPayload): void {
    this.entry(sensorId, metric).anomalies.push({ ts, value, severity });
  }
}

/**
 * uPlot's columnar data: x in seconds, then readings, forecast and anomaly columns (null where a
 * column has no point). The forecast starts at the last reading so the dashed line continues the solid one.
 */
export function toColumns(series: MetricSeries): [number[], (number | null)[], (number | null)[], (number | null)[]] {
  const last = series.readings.at(-1);
  const forecast = last ? series.forecast.filter((point) => point.ts > last.ts) : series.forecast;
  const xs = new Map<number, { reading: number | null; forecast: number | null; anomaly: number | null }>();
  const row = (ts: number) => {
    let found = xs.get(ts);
    if (!found) xs.set(ts, (found = { reading: null, forecast: null, anomaly: null }));
    return found;
  };
  for (const point of series.readings) row(point.ts).reading = point.value;
  for (const point of series.anomalies) row(point.ts).anomaly = point.value;
  if (last && forecast.length > 0) row(last.ts).forecast = last.value;
  for (const point of forecast) row(point.ts).forecast = point.value;

  const times = [...xs.keys()].sort((a, b) => a - b);
  return [
    times.map((ts) => ts / 1000),
    times.map((ts) => xs.get(ts)!.reading),
    times.map((ts) => xs.get(ts)!.forecast),
    times.map((ts) => xs.get(ts)!.anomaly),
  ];
}
