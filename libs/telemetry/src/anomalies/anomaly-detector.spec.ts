import { describe, expect, it } from '@jest/globals';
import { judge } from './anomaly-detector.js';

const options = { zLimit: 3, minReadings: 10 };
const stats = { mean: 20, std: 1 };

describe('judge', () => {
  it('gives no verdict before the minimum number of readings, even outside thresholds', () => {
    expect(judge(1000, stats, 9, { max: 30 }, options)).toBeNull();
  });

  it.each([
    [22.9, null],
    [23, null],
    [23.5, 'warning'],
    [16.5, 'warning'],
    [26, 'critical'],
    [10, 'critical'],
  ])('value %d against mean 20 std 1: %s', (value, severity) => {
    expect(judge(value, stats, 50, undefined, options)?.severity ?? null).toBe(severity);
  });

  it('flags leaving the thresholds as critical, whatever the z-score', () => {
    expect(judge(20.5, stats, 50, { max: 20.2 }, options)).toEqual({ expected: stats, score: 0.5, severity: 'critical', reason: 'threshold' });
    expect(judge(19.5, stats, 50, { min: 19.8 }, options)).toMatchObject({ severity: 'critical', reason: 'threshold' });
    expect(judge(20.1, stats, 50, { min: 0, max: 100 }, options)).toBeNull();
  });

  it('treats any change from a constant series as critical with a finite score', () => {
    const verdict = judge(21, { mean: 20, std: 0 }, 50, undefined, options);
    expect(verdict).toMatchObject({ severity: 'critical' });
    expect(Number.isFinite(verdict!.score)).toBe(true);
    expect(judge(20, { mean: 20, std: 0 }, 50, undefined, options)).toBeNull();
  });
});
