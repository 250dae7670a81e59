import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Identity } from '#auth';
import { TokenExpirySchedule } from './token-expiry-schedule.js';

const START = Date.UTC(2026, 0, 1);

function expiringAt(expiresAt: number | null): Identity {
  return { userId: 'u', role: 'user', expiresAt };
}

describe('TokenExpirySchedule', () => {
  let expired: string[];
  let schedule: TokenExpirySchedule;

  beforeEach(() => {
    jest.useFakeTimers({ now: START });
    expired = [];
    schedule = new TokenExpirySchedule((id) => expired.push(id));
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('expires each connection at its instant, those sharing one together, on a single timer', () => {
    schedule.schedule('a', expiringAt(START + 2_000));
    schedule.schedule('b', expiringAt(START + 1_000));
    schedule.schedule('c', expiringAt(START + 2_000));
    expect(jest.getTimerCount()).toBe(1);

    jest.advanceTimersByTime(999);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(expired).toEqual(['b']);
    jest.advanceTimersByTime(1_000);
    expect(expired).toEqual(['b', 'a', 'c']);
    expect(schedule.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('moves an expiry when the token is refreshed, earlier or later', () => {
    schedule.schedule('a', expiringAt(START + 1_000));
    schedule.schedule('b', expiringAt(START + 5_000));
    schedule.schedule('a', expiringAt(START + 3_000));
    schedule.schedule('b', expiringAt(START + 2_000));

    jest.advanceTimersByTime(1_000);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(1_000);
    expect(expired).toEqual(['b']);
    jest.advanceTimersByTime(1_000);
    expect(expired).toEqual(['b', 'a']);
  });

  it('forgets a cancelled connection and disarms once nothing is pending', () => {
    schedule.schedule('a', expiringAt(START + 1_000));
    schedule.schedule('b', expiringAt(START + 1_000));
    schedule.cancel('a');
    schedule.cancel('unknown');
    expect(schedule.size).toBe(1);
    schedule.cancel('b');
    expect(jest.getTimerCount()).toBe(0);

    jest.advanceTimersByTime(2_000);
    expect(expired).toEqual([]);
  });

  it('never expires a token without exp, and drops the old expiry when a refresh has none', () => {
    schedule.schedule('a', expiringAt(null));
    schedule.schedule('b', expiringAt(START + 1_000));
    schedule.schedule('b', expiringAt(null));
    expect(schedule.size).toBe(0);
    jest.advanceTimersByTime(10_000);
    expect(expired).toEqual([]);
  });

  it('expires at once a token that is already past its expiry', () => {
    schedule.schedule('late', expiringAt(START - 1_000));
    jest.advanceTimersByTime(0);
    expect(expired).toEqual(['late']);
  });

  it('waits out an expiry beyond the longest setTimeout delay', () => {
    const days = (count: number) => count * 24 * 3_600_000;
    schedule.schedule('far', expiringAt(START + days(30)));
    jest.advanceTimersByTime(days(25));
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(days(5));
    expect(expired).toEqual(['far']);
  });

  it('lets a callback cancel or reschedule while expiring', () => {
    const rescheduling = new TokenExpirySchedule((id) => {
      expired.push(id);
      rescheduling.cancel('b');
      if (id === 'a') rescheduling.schedule('a', expiringAt(Date.now() + 1_000));
    });
    rescheduling.schedule('a', expiringAt(START + 1_000));
    rescheduling.schedule('b', expiringAt(START + 1_000));
    jest.advanceTimersByTime(1_000);
    expect(expired).toEqual(['a', 'b']);
    jest.advanceTimersByTime(1_000);
    expect(expired).toEqual(['a', 'b', 'a']);
  });
});
