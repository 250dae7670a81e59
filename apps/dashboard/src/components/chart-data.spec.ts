import { describe, expect, it } from '@jest/globals';
import { MAX_READINGS, SeriesBook, toColumns } from './chart-data.js';

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
    book.addPrediction({ sensorId: 's1', metric: 'temperature', model: 'holt', ts: 2000, points: [{ ts: 1500, value: 99 }, { ts: 3000, value: 30 }] });

    expect(toColumns(book.series.get('s1/temperature')!)).toEqual([
      [1, 2, 3],
      [10, 20, null],
      [null, 20, 30],
      [null, 20, null],
    ]);
  });
});
