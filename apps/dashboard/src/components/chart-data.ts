import type { AnomalyPayload, PredictionPayload, ReadingPayload } from '#contracts';

/** Points kept per line: about five minutes at one reading a second. */
export const MAX_READINGS = 300;

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

  private entry(sensorId: string, metric: string): MetricSeries {
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
    // Readings from one device arrive in order; a late one is placed, not appended.
    let index = readings.length;
    while (index > 0 && readings[index - 1]!.ts > ts) index -= 1;
    readings.splice(index, 0, { ts, value });
    if (readings.length > MAX_READINGS) readings.splice(0, readings.length - MAX_READINGS);
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
