import { describe, expect, it } from '@jest/globals';
import { msSince } from './objects.js';

describe('msSince', () => {
  it('is the time from base to now, whole or not', () => {
    const base = Date.UTC(2026, 11, 1);
    expect(msSince(base, base + 1_500)).toBe(1_500);
    expect(msSince(base, base)).toBe(0);
    expect(msSince(1_000.25, 1_500.75)).toBe(500.5);
  });
});
