import { describe, expect, it } from '@jest/globals';
import { holtForecast, medianInterval } from './holt.js';

describe('holtForecast', () => {
  it('continues a straight line exactly', () => {
    const line = Array.from({ length: 30 }, (_, i) => 10 + 2 * i);
    const forecast = holtForecast(line, 5)!;
    forecast.values.forEach((value, h) => expect(value).toBeCloseTo(10 + 2 * (30 + h), 6));
  });

  it('gives a rising forecast for a noisy rising series and a flat one for a flat series', () => {
    const rising = Array.from({ length: 50 }, (_, i) => i + Math.sin(i * 7) * 0.3);
    const up = holtForecast(rising, 5)!.values;
    for (let i = 1; i < up.length; i++) expect(up[i]!).toBeGreaterThan(up[i - 1]!);
    expect(up[0]!).toBeGreaterThan(47);

    const flat = holtForecast(Array(20).fill(5), 3)!.values;
    expect(flat).toEqual([5, 5, 5]);
  });

  it('needs at least three values', () => {
    expect(holtForecast([1, 2], 5)).toBeNull();
  });
});

describe('medianInterval', () => {
  it('is the median positive gap, 1 s without one', () => {
    expect(medianInterval([0, 1000, 2000, 2500, 3500])).toBe(1000);
    expect(medianInterval([0, 100, 300])).toBe(150);
    expect(medianInterval([5])).toBe(1000);
    expect(medianInterval([5, 5, 5])).toBe(1000);
  });
});
