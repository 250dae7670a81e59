import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisConnection } from '#redis';
import { RedisSeriesStore } from './redis-series.store.js';
import { holtForecast } from '../predictions/holt.js';
import { InMemorySeriesStore, type Gate, type SeriesStore } from './series-store.js';

/** Judges nothing: every reading joins its window. */
const OPEN: Gate = { zLimit: 3, minReadings: Number.MAX_SAFE_INTEGER };
const DETECTOR: Gate = { zLimit: 3, minReadings: 10 };

let redis: RedisConnection;
beforeAll(async () => {
  redis = await RedisConnection.connect({ url: 'redis://127.0.0.1:6379', keyPrefix: `spec:series:${process.pid}:${Date.now()}:` });
});
afterAll(() => redis.close());

function naive(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

describe.each<[string, () => SeriesStore]>([
  ['InMemorySeriesStore', () => new InMemorySeriesStore(20, 7)],
  ['RedisSeriesStore', () => new RedisSeriesStore(redis, 20, 7)],
])('%s', (_name, create) => {
  it('forgets every series of a sensor, and only those', async () => {
    const sut = create();
    for (const [sensor, metric] of [
      ['gone', 'a'],
      ['gone', 'b'],
      ['gone-too', 'a'],
      ['kept', 'a'],
    ] as const) {
      for (let i = 0; i < 3; i++) await sut.observe(sensor, metric, i, 1_000 + i, OPEN);
    }
    await sut.forget('gone');
    expect((await sut.observe('gone', 'a', 5, 2_000, OPEN)).size).toBe(0);
    expect((await sut.observe('gone', 'b', 5, 2_000, OPEN)).size).toBe(0);
    expect((await sut.observe('gone-too', 'a', 5, 2_000, OPEN)).size).toBe(3);
    expect((await sut.observe('kept', 'a', 5, 2_000, OPEN)).size).toBe(3);
  });

  it('reports the window statistics before each reading, matching a naive recomputation, and a forecast window every 7', async () => {
    const sut = create();
    const seen: number[] = [];
    for (let i = 0; i < 60; i++) {
      const value = 100 + Math.sin(i) * 3 + (i % 5);
      const observation = await sut.observe('s', 'm', value, 1_000 + i, OPEN);
      expect(observation.size).toBe(Math.min(seen.length, 20));
      if (seen.length > 1) {
        const expected = naive(seen.slice(-20));
        expect(observation.before.mean).toBeCloseTo(expected.mean, 9);
        expect(observation.before.std).toBeCloseTo(expected.std, 9);
      }
      seen.push(value);
      if ((i + 1) % 7 === 0) {
        expect(observation.forecastWindow).toEqual({
          values: seen.slice(-20),
          timestamps: seen.slice(-20).map((_, k) => 1_000 + i - Math.min(seen.length, 20) + 1 + k),
        });
      } else {
        expect(observation.forecastWindow).toBeNull();
      }
    }
  });

  it('keeps series apart', async () => {
    const sut = create();
    await sut.observe('a', 'm', 1, 1, OPEN);
    await sut.observe('a', 'm', 3, 2, OPEN);
    expect((await sut.observe('b', 'm', 50, 3, OPEN)).size).toBe(0);
    expect((await sut.observe('a', 'other', 50, 3, OPEN)).size).toBe(0);
    expect(await sut.observe('a', 'm', 5, 4, OPEN)).toMatchObject({ size: 2, before: { mean: 2 } });
  });

  it('keeps an anomalous reading (z-score or thresholds) out of the window, the statistics and the forecast count', async () => {
    const sut = create();
    // 20 ± 0.5, every 1 s.
    const normal = (i: number) => 20 + ((i % 5) - 2) * 0.25;
    for (let i = 0; i < 12; i++) expect((await sut.observe('g', 'm', normal(i), 1_000 * i, DETECTOR)).admitted).toBe(true);
    const before = await sut.observe('g', 'm', normal(12), 12_000, DETECTOR);
    const spike = await sut.observe('g', 'm', 35, 13_000, DETECTOR);
    expect(spike).toMatchObject({ admitted: false, size: 13, forecastWindow: null });
    const outside = await sut.observe('g', 'm', 20.4, 14_000, { ...DETECTOR, thresholds: { max: 20.3 } });
    expect(outside).toMatchObject({ admitted: false, size: 13 });
    const after = await sut.observe('g', 'm', normal(13), 15_000, DETECTOR);
    expect(after).toMatchObject({ admitted: true, size: 13 });
    expect(after.before.mean).toBeCloseTo(spike.before.mean, 12);
    expect(after.before.std).toBeCloseTo(spike.before.std, 12);
    expect(before.admitted).toBe(true);
  });

  it('after a single spike to 35 in a series of 20 ± 0.5, the next forecast stays within the normal band', async () => {
    const sut = create();
    const normal = (i: number) => 20 + ((i % 5) - 2) * 0.25;
    let i = 0;
    for (; i < 25; i++) await sut.observe('f', 'm', normal(i), 1_000 * i, DETECTOR);
    expect((await sut.observe('f', 'm', 35, 1_000 * i++, DETECTOR)).admitted).toBe(false);
    let window: { values: number[] } | null = null;
    while (!window) {
      window = (await sut.observe('f', 'm', normal(i), 1_000 * i, DETECTOR)).forecastWindow;
      i++;
    }
    expect(window.values).not.toContain(35);
    const forecast = holtForecast(window.values, 5)!.values;
    expect(forecast).toHaveLength(5);
    // The band the series lives in: 19.5 .. 20.5.
    for (const point of forecast) {
      expect(point).toBeGreaterThanOrEqual(19.5);
      expect(point).toBeLessThanOrEqual(20.5);
    }
  });
});
