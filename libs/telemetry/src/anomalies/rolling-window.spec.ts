import { describe, expect, it } from '@jest/globals';
import { newWindow, windowAdd, windowCount, windowSeries, windowStats, type WindowState } from './rolling-window.js';

/** The window's functions over one state, as a series store uses them (keeping the array `windowAdd` returns). */
class RollingWindow {
  private state: WindowState;

  constructor(readonly capacity: number) {
    this.state = newWindow(capacity);
  }

  get size(): number {
    return windowCount(this.state);
  }

  add(value: number, ts: number): void {
    this.state = windowAdd(this.state, this.capacity, value, ts);
  }

  stats(): { mean: number; std: number } {
    return windowStats(this.state);
  }

  series(): { values: number[]; timestamps: number[] } {
    return windowSeries(this.state, this.capacity);
  }
}

function naive(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

/** The window as it was before values and timestamps shared one growing array: two full-size typed arrays. */
class TwoBufferWindow {
  private readonly values: Float64Array;
  private readonly timestamps: Float64Array;
  private start = 0;
  private count = 0;
  private mean = 0;
  private m2 = 0;

  constructor(private readonly capacity: number) {
    this.values = new Float64Array(capacity);
    this.timestamps = new Float64Array(capacity);
  }

  add(value: number, ts: number): void {
    if (this.count < this.capacity) {
      this.values[this.count] = value;
      this.timestamps[this.count] = ts;
      this.count += 1;
      const delta = value - this.mean;
      this.mean += delta / this.count;
      this.m2 += delta * (value - this.mean);
      return;
    }
    const leaving = this.values[this.start]!;
    this.values[this.start] = value;
    this.timestamps[this.start] = ts;
    this.start = (this.start + 1) % this.capacity;
    const oldMean = this.mean;
    this.mean += (value - leaving) / this.count;
    this.m2 += (value - leaving) * (value - this.mean + leaving - oldMean);
    if (this.m2 < 0) this.m2 = 0;
  }

  stats(): { mean: number; std: number } {
    return { mean: this.mean, std: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : 0 };
  }

  series(): { values: number[]; timestamps: number[] } {
    const order = Array.from({ length: this.count }, (_, i) => (this.start + i) % this.capacity);
    return { values: order.map((i) => this.values[i]!), timestamps: order.map((i) => this.timestamps[i]!) };
  }
}

describe('RollingWindow', () => {
  it.each([1, 2, 3, 8, 37, 100])('gives exactly the statistics and series of two full-size buffers on random data (capacity %i)', (capacity) => {
    const window = new RollingWindow(capacity);
    const reference = new TwoBufferWindow(capacity);
    for (let i = 0; i < 3 * capacity + 50; i++) {
      const value = Math.random() * 2000 - 1000;
      const ts = 1_700_000_000_000 + i * 1000 + Math.random();
      window.add(value, ts);
      reference.add(value, ts);
      expect(window.stats()).toEqual(reference.stats());
      expect(window.size).toBe(Math.min(i + 1, capacity));
    }
    expect(window.series()).toEqual(reference.series());
  });

  it.each([
    ['small noise', (i: number) => 20 + Math.sin(i) * 0.5],
    ['a large offset with tiny variance', (i: number) => 1e9 + (i % 7) * 1e-3],
    ['a trend', (i: number) => i * 0.25],
    ['random', () => Math.random() * 1000 - 500],
  ])('matches a naive recomputation over the last N for %s', (_case, signal) => {
    const window = new RollingWindow(100);
    const all: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const value = signal(i);
      all.push(value);
      window.add(value, i);
      const expected = naive(all.slice(-100));
      const actual = window.stats();
      expect(Math.abs(actual.mean - expected.mean)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected.mean)));
      expect(Math.abs(actual.std - expected.std)).toBeLessThanOrEqual(1e-6 * Math.max(1, expected.std));
    }
  });

  it('keeps the newest values in order', () => {
    const window = new RollingWindow(3);
    for (let i = 1; i <= 5; i++) window.add(i * 10, i);
    expect(window.series()).toEqual({ values: [30, 40, 50], timestamps: [3, 4, 5] });
    expect(window.size).toBe(3);
  });

  it('has zero deviation for one value and for a constant series', () => {
    const window = new RollingWindow(5);
    window.add(7, 0);
    expect(window.stats()).toEqual({ mean: 7, std: 0 });
    for (let i = 0; i < 20; i++) window.add(7, i);
    expect(window.stats()).toEqual({ mean: 7, std: 0 });
  });

  it('grows its buffers as readings arrive, through every size up to a capacity that is not a power of two', () => {
    const window = new RollingWindow(37);
    for (let i = 1; i <= 80; i++) {
      window.add(i, 1000 + i);
      const kept = Array.from({ length: Math.min(i, 37) }, (_, k) => i - Math.min(i, 37) + 1 + k);
      expect(window.series()).toEqual({ values: kept, timestamps: kept.map((v) => 1000 + v) });
      expect(window.stats().mean).toBeCloseTo(naive(kept).mean, 9);
    }
  });
});
