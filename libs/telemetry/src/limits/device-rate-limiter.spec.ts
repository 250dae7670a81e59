import { describe, expect, it } from '@jest/globals';
import { DeviceRateLimiter } from './device-rate-limiter.js';

describe('DeviceRateLimiter', () => {
  it('lets ratePerSecond through per sensor, then refills at that rate', () => {
    const sut = new DeviceRateLimiter(10, 100);
    const results = Array.from({ length: 12 }, () => sut.take('a', 1000));
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(results.slice(10)).toEqual([false, false]);
    expect(sut.take('b', 1000)).toBe(true);
    expect(sut.take('a', 1100)).toBe(true);
    expect(sut.take('a', 1100)).toBe(false);
    const afterASecond = Array.from({ length: 11 }, () => sut.take('a', 2200));
    expect(afterASecond.filter(Boolean)).toHaveLength(10);
  });

  it('keeps the burst and the refill exact at a rate that is not a divisor of a second', () => {
    const sut = new DeviceRateLimiter(3, 100);
    expect(Array.from({ length: 4 }, () => sut.take('a', 0))).toEqual([true, true, true, false]);
    expect(sut.take('a', 333)).toBe(false);
    expect([sut.take('a', 334), sut.take('a', 334)]).toEqual([true, false]);
    expect(Array.from({ length: 4 }, () => sut.take('a', 5000))).toEqual([true, true, true, false]);
  });

  it('costs at most one token interval when the clock goes back, not the length of the step', () => {
    const sut = new DeviceRateLimiter(10, 100);
    expect(sut.take('a', 10_000)).toBe(true);
    // Five seconds back: the bucket counts as empty, and refills from there at the usual rate.
    expect(sut.take('a', 5_000)).toBe(false);
    expect(sut.take('a', 5_100)).toBe(true);
    expect(Array.from({ length: 11 }, () => sut.take('a', 7_000)).filter(Boolean)).toHaveLength(10);
  });

  it('holds at most maxEntries buckets, dropping refilled ones first, then the least recently used', () => {
    const sut = new DeviceRateLimiter(1, 3);
    sut.take('a', 0);
    sut.take('b', 0);
    sut.take('c', 500);
    expect(sut.take('d', 1000)).toBe(true); // a and b have refilled: both dropped
    expect(sut.size).toBe(2);
    sut.take('e', 1000);
    expect(sut.take('c', 1000)).toBe(false); // still drained: c was kept
    for (let i = 0; i < 10_000; i++) sut.take(`random-${i}`, 1000);
    expect(sut.size).toBe(3);
  });
});
