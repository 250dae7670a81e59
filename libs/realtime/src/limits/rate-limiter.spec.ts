import { describe, expect, it } from '@jest/globals';
import { RateLimiter } from './rate-limiter.js';

function takeMany(limiter: RateLimiter, count: number, at: number) {
  return Array.from({ length: count }, () => limiter.take(at));
}

describe('RateLimiter', () => {
  it('lets a burst of twice the rate through, then limits', () => {
    const limiter = new RateLimiter(50, 0);
    const verdicts = takeMany(limiter, 101, 0);
    expect(verdicts.filter((v) => v === 'allow')).toHaveLength(100);
    expect(verdicts.at(-1)).toBe('limit');
  });

  it('refills at the rate', () => {
    const limiter = new RateLimiter(10, 0);
    takeMany(limiter, 20, 0);
    expect(limiter.take(0)).toBe('limit');
    expect(takeMany(limiter, 5, 500)).toEqual(Array(5).fill('allow'));
    expect(limiter.take(500)).toBe('limit');
  });

  it('never stores more than the burst', () => {
    const limiter = new RateLimiter(10, 0);
    expect(takeMany(limiter, 21, 60_000).filter((v) => v === 'allow')).toHaveLength(20);
  });

  it('sustains exactly the rate without abuse', () => {
    const limiter = new RateLimiter(10, 0);
    takeMany(limiter, 20, 0);
    for (let ms = 100; ms <= 60_000; ms += 100) expect(limiter.take(ms)).toBe('allow');
  });

  it('does not call twice the rate abuse, but a flood well above it', () => {
    const twice = new RateLimiter(10, 0);
    const verdicts: string[] = [];
    for (let ms = 0; ms <= 60_000; ms += 50) verdicts.push(twice.take(ms));
    expect(verdicts).not.toContain('abuse');
    expect(verdicts).toContain('limit');

    const flood = new RateLimiter(10, 0);
    const flooded = takeMany(flood, 20 + 50, 0);
    expect(flooded.at(-1)).toBe('limit');
    expect(flood.take(0)).toBe('abuse');
  });
});
