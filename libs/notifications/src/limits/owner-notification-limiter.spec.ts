import { describe, expect, it } from '@jest/globals';
import { OwnerNotificationLimiter } from './owner-notification-limiter.js';

describe('OwnerNotificationLimiter', () => {
  it('lets perMinute through per user and window, and reports what it held back with the next one', () => {
    const sut = new OwnerNotificationLimiter(2);
    expect(sut.take('alice', 0)).toEqual({ allowed: true, suppressed: 0 });
    expect(sut.take('alice', 10)).toEqual({ allowed: true, suppressed: 0 });
    expect(sut.take('alice', 20)).toEqual({ allowed: false });
    expect(sut.take('alice', 30)).toEqual({ allowed: false });
    expect(sut.take('bob', 40)).toEqual({ allowed: true, suppressed: 0 });
    expect(sut.take('alice', 60_000)).toEqual({ allowed: true, suppressed: 2 });
    expect(sut.take('alice', 60_001)).toEqual({ allowed: true, suppressed: 0 });
    expect(sut.take('alice', 60_002)).toEqual({ allowed: false });
  });

  it('forgets users whose window ended', () => {
    const sut = new OwnerNotificationLimiter(1);
    for (let i = 0; i < 1000; i++) sut.take(`user-${i}`, 0);
    expect(sut.size).toBe(1000);
    sut.take('late', 60_000);
    expect(sut.size).toBe(1);
  });

  it('keeps a held-back count for at most an hour', () => {
    const sut = new OwnerNotificationLimiter(1);
    sut.take('alice', 0);
    sut.take('alice', 1);
    sut.take('other', 120_000);
    expect(sut.size).toBe(2);
    sut.take('other', 3_600_000);
    expect(sut.size).toBe(1);
  });
});
