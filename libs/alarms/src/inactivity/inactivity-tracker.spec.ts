import { describe, expect, it } from '@jest/globals';
import type { Clock } from '../alarm-state-machine.js';
import { InactivityTracker } from './inactivity-tracker.js';

function clockAt(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

describe('InactivityTracker', () => {
  it('reports a series silent for factor x its median interval, once, and its next reading ends it', () => {
    const clock = clockAt(0);
    const tracker = new InactivityTracker<string>({ factor: 5, minMs: 30_000 }, clock);
    // Every 10 s, with one odd gap the median ignores.
    for (let i = 0; i < 12; i++) {
      tracker.seen('s-1', 'temp', 'ctx');
      clock.advance(i === 5 ? 40_000 : 10_000);
    }
    // Last reading 10 s ago; deadline 50 s after it.
    clock.advance(39_999);
    expect(tracker.sweep()).toEqual([]);
    clock.advance(1);
    expect(tracker.sweep()).toEqual([{ sensorId: 's-1', metric: 'temp', silentForMs: 50_000, medianIntervalMs: 10_000, context: 'ctx' }]);
    clock.advance(100_000);
    expect(tracker.sweep()).toEqual([]);
    expect(tracker.seen('s-1', 'temp', 'ctx')).toBe(true);
    expect(tracker.seen('s-1', 'temp', 'ctx')).toBe(false);
  });

  it('takes the median over the latest 15 intervals only', () => {
    const clock = clockAt(0);
    const tracker = new InactivityTracker({ factor: 5, minMs: 1_000 }, clock);
    // 20 intervals of 60 s, then 15 of 10 s: the slow ones have all left the ring.
    for (let i = 0; i < 20; i++) {
      tracker.seen('s', 'm', undefined);
      clock.advance(60_000);
    }
    for (let i = 0; i < 15; i++) {
      tracker.seen('s', 'm', undefined);
      clock.advance(10_000);
    }
    tracker.seen('s', 'm', undefined);
    clock.advance(50_000);
    expect(tracker.sweep()).toEqual([{ sensorId: 's', metric: 'm', silentForMs: 50_000, medianIntervalMs: 10_000, context: undefined }]);
  });

  it('says nothing about a series with fewer than 10 readings, and waits at least the minimum', () => {
    const clock = clockAt(0);
    const tracker = new InactivityTracker({ factor: 5, minMs: 30_000 }, clock);
    for (let i = 0; i < 9; i++) {
      tracker.seen('few', 'm', undefined);
      clock.advance(1_000);
    }
    for (let i = 0; i < 10; i++) {
      tracker.seen('fast', 'm', undefined);
      clock.advance(100);
    }
    clock.advance(29_000);
    expect(tracker.sweep()).toEqual([]);
    clock.advance(1_000_000);
    expect(tracker.sweep().map((s) => s.sensorId)).toEqual(['fast']);
  });

  it('forgets a deleted sensor', () => {
    const clock = clockAt(0);
    const tracker = new InactivityTracker({ factor: 2, minMs: 0 }, clock);
    for (let i = 0; i < 10; i++) {
      tracker.seen('gone', 'm', undefined);
      tracker.seen('kept', 'm', undefined);
      clock.advance(10);
    }
    tracker.forget('gone');
    clock.advance(1_000);
    expect(tracker.sweep().map((s) => s.sensorId)).toEqual(['kept']);
    expect(tracker.size).toBe(1);
  });

  it('sweeps 10,000 series in one pass and finds exactly the silent ones', () => {
    const clock = clockAt(0);
    const tracker = new InactivityTracker<number>({ factor: 5, minMs: 1_000 }, clock);
    for (let round = 0; round < 10; round++) {
      for (let s = 0; s < 10_000; s++) tracker.seen(`s-${s}`, 'm', s);
      clock.advance(1_000);
    }
    // Every 100th series goes quiet; the others keep reporting.
    for (let round = 0; round < 6; round++) {
      for (let s = 0; s < 10_000; s++) if (s % 100 !== 0) tracker.seen(`s-${s}`, 'm', s);
      clock.advance(1_000);
    }
    expect(tracker.size).toBe(10_000);
    const silent = tracker.sweep();
    expect(silent.map((s) => s.context).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, k) => k * 100));
    expect(tracker.sweep()).toEqual([]);
  });
});
