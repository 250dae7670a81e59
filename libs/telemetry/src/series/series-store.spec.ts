import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisConnection } from '#redis';
import { RedisSeriesStore } from './redis-series.store.js';
import { InMemorySeriesStore, type SeriesStore } from './series-store.js';

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
    for (const [sensor, metric] of [['gone', 'a'], ['gone', 'b'], ['gone-too', 'a'], ['kept', 'a']] as const) {
      for (let i = 0; i < 3; i++) await sut.observe(sensor, metric, i, 1_000 + i);
    }
    await sut.forget('gone');
    expect((await sut.observe('gone', 'a', 5, 2_000)).size).toBe(0);
    expect((await sut.observe('gone', 'b', 5, 2_000)).size).toBe(0);
    expect((await sut.observe('gone-too', 'a', 5, 2_000)).size).toBe(3);
    expect((await sut.observe('kept', 'a', 5, 2_000)).size).toBe(3);
  });

  it('reports the window statistics before each reading, matching a naive recomputation, and a forecast window every 7', async () => {
    const sut = create();
    const seen: number[] = [];
    for (let i = 0; i < 60; i++) {
      const value = 100 + Math.sin(i) * 3 + (i % 5);
      const observation = await sut.observe('s', 'm', value, 1_000 + i);
      expect(observation.size).toBe(Math.min(seen.length, 20));
      if (seen.length > 1) {
        const expected = naive(seen.slice(-20));
        expect(observation.before.mean).toBeCloseTo(expected.mean, 9);
        expect(observation.before.std).toBeCloseTo(expected.std, 9);
      }
      seen.push(value);
      if ((i + 1) % 7 === 0) {
        expect(observation.forecastWindow).toEqual({ values: seen.slice(-20), timestamps: seen.slice(-20).map((_, k) => 1_000 + i - Math.min(seen.length, 20) + 1 + k) });
      } else {
        expect(observation.forecastWindow).toBeNull();
      }
    }
  });

  it('keeps series apart', async () => {
    const sut = create();
    await sut.observe('a', 'm', 1, 1);
    await sut.observe('a', 'm', 3, 2);
    expect((await sut.observe('b', 'm', 50, 3)).size).toBe(0);
    expect((await sut.observe('a', 'other', 50, 3)).size).toBe(0);
    expect(await sut.observe('a', 'm', 5, 4)).toMatchObject({ size: 2, before: { mean: 2 } });
  });
});
