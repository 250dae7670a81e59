import { describe, expect, it } from '@jest/globals';
import { historyCoverage, historyPath, historyPoints, MAX_READINGS, RANGES, SeriesBook, toColumns } from './chart-data.js';

describe('SeriesBook and toColumns', () => {
  const reading = (ts: number, value: number) => ({ sensorId: 's1', metric: 'temperature', value, ts });

  it('keeps readings in time order, bounded, and drops anomalies that scrolled out', () => {
    const book = new SeriesBook();
    book.addReading(reading(2000, 2));
    book.addReading(reading(1000, 1));
    book.addAnomaly({ id: 'a', sensorId: 's1', metric: 'temperature', value: 1, expected: { mean: 0, std: 1 }, score: 4, severity: 'warning', ts: 1000 });
    const series = book.series.get('s1/temperature')!;
    expect(series.readings.map((point) => point.ts)).toEqual([1000, 2000]);

    for (let index = 0; index < MAX_READINGS; index++) book.addReading(reading(3000 + index, index));
    expect(series.readings).toHaveLength(MAX_READINGS);
    expect(series.readings[0]!.ts).toBe(3000);
    expect(series.anomalies).toEqual([]);
  });

  it('lays readings, the forecast (continuing from the last reading) and anomalies on one x axis', () => {
    const book = new SeriesBook();
    book.addReading(reading(1000, 10));
    book.addReading(reading(2000, 20));
    book.addAnomaly({ id: 'a', sensorId: 's1', metric: 'temperature', value: 20, expected: { mean: 10, std: 1 }, score: 10, severity: 'critical', ts: 2000 });
    book.addPrediction({
      sensorId: 's1',
      metric: 'temperature',
      model: 'holt',
      ts: 2000,
      points: [
        { ts: 1500, value: 99 },
        { ts: 3000, value: 30 },
      ],
    });

    expect(toColumns(book.series.get('s1/temperature')!)).toEqual([
      [1, 2, 3],
      [10, 20, null],
      [null, 20, 30],
      [null, 20, null],
    ]);
  });

  it('asks for raw readings on short ranges and averaged buckets on long ones', () => {
    const now = 1_700_000_000_000;
    const raw = new URL(`http://x/${historyPath('boiler 1', 'temperature', '15m', now)}`);
    expect(raw.pathname).toBe('/readings');
    expect(Object.fromEntries(raw.searchParams)).toEqual({
      sensorId: 'boiler 1',
      metric: 'temperature',
      from: String(now - 15 * 60_000),
      to: String(now),
      limit: '1000',
    });
    const week = new URL(`http://x/${historyPath('s1', 'temperature', '7d', now)}`);
    expect(Object.fromEntries(week.searchParams)).toEqual({
      sensorId: 's1',
      metric: 'temperature',
      from: String(now - 7 * 86_400_000),
      to: String(now),
      bucket: '30m',
      agg: 'avg',
    });
  });

  it('reads both answer shapes as points oldest first, skipping malformed rows', () => {
    expect(
      historyPoints([
        { ts: 3, value: 30, sensorId: 's1' },
        { ts: 1, value: 10 },
        { ts: 'x', value: 1 },
      ]),
    ).toEqual([
      { ts: 1, value: 10 },
      { ts: 3, value: 30 },
    ]);
    expect(
      historyPoints({
        items: [
          { ts: 1, value: 1.5 },
          { ts: 2, value: null },
        ],
      }),
    ).toEqual([{ ts: 1, value: 1.5 }]);
    expect(historyPoints({ statusCode: 500 })).toEqual([]);
  });

  it('lays history under the live line without doubling readings that came during the request', () => {
    const book = new SeriesBook();
    book.addReading(reading(5000, 5));
    book.addReading(reading(6000, 6));
    book.loadHistory('s1', 'temperature', [
      { ts: 4000, value: 4 },
      { ts: 5000, value: 5 },
    ]);
    expect(book.series.get('s1/temperature')!.readings).toEqual([
      { ts: 4000, value: 4 },
      { ts: 5000, value: 5 },
      { ts: 6000, value: 6 },
    ]);
  });

  it('replaces live readings inside the last bucket by the bucket, and keeps those after it', () => {
    const book = new SeriesBook();
    book.windowMs = RANGES['24h'].ms;
    const bucket = RANGES['24h'].bucketMs;
    // Live readings at 1.2, 1.5 and 2.1 buckets; the history's last bucket starts at 1 (it averages the first two).
    for (const at of [1.2, 1.5, 2.1]) book.addReading(reading(at * bucket, at));
    const history = [
      { ts: 0, value: 0.5 },
      { ts: bucket, value: 1.35 },
    ];
    expect(historyCoverage('24h', history)).toBe(2 * bucket - 1);
    expect(historyCoverage('15m', history)).toBe(bucket);
    expect(historyCoverage('24h', [])).toBe(-Infinity);
    book.loadHistory('s1', 'temperature', history, historyCoverage('24h', history));
    expect(book.series.get('s1/temperature')!.readings).toEqual([...history, { ts: 2.1 * bucket, value: 2.1 }]);
  });

  it('merges replayed readings with the history by timestamp, never doubling one', () => {
    const book = new SeriesBook();
    // The subscription replays the latest readings before the history request answers...
    book.addReading(reading(5000, 5));
    book.addReading(reading(6000, 6));
    book.loadHistory('s1', 'temperature', [
      { ts: 4000, value: 4 },
      { ts: 5000, value: 5 },
      { ts: 6000, value: 6 },
    ]);
    // ...or after it, and a resume may deliver one again: each timestamp stays one point.
    book.addReading(reading(5000, 5));
    book.addReading(reading(6000, 6));
    book.addReading(reading(7000, 7));
    book.addReading(reading(7000, 7));
    const series = book.series.get('s1/temperature')!;
    expect(series.readings).toEqual([4000, 5000, 6000, 7000].map((ts) => ({ ts, value: ts / 1000 })));
    expect(toColumns(series)[0]).toEqual([4, 5, 6, 7]);
  });

  it('keeps a line within the chosen window', () => {
    const book = new SeriesBook();
    book.windowMs = RANGES['15m'].ms;
    const minute = 60_000;
    book.loadHistory('s1', 'temperature', [
      { ts: 0, value: 0 },
      { ts: 10 * minute, value: 1 },
    ]);
    book.addReading(reading(20 * minute, 2));
    expect(book.series.get('s1/temperature')!.readings.map((point) => point.ts)).toEqual([10 * minute, 20 * minute]);
  });
});
