import { describe, expect, it } from '@jest/globals';
import {
  acknowledge,
  clearBy,
  escalated,
  escalationDue,
  normalReading,
  outcomeOf,
  raise,
  resumed,
  toPayload,
  type AlarmSignal,
  type Clock,
} from './alarm-state-machine.js';

function clockAt(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

const signal = (over: Partial<AlarmSignal> = {}): AlarmSignal => ({
  sensorId: 's-1',
  metric: 'temp',
  type: 'threshold',
  severity: 'warning',
  ts: 1_000,
  details: { value: 90 },
  ...over,
});

describe('alarm state machine', () => {
  it('raises a new active, unacknowledged alarm and tells the owner', () => {
    const clock = clockAt(5_000);
    const alarm = raise(null, signal(), 'a-1', clock);
    expect(toPayload(alarm)).toEqual({
      id: 'a-1',
      sensorId: 's-1',
      metric: 'temp',
      type: 'threshold',
      severity: 'warning',
      status: 'active',
      acknowledged: false,
      startTs: 1_000,
      lastTs: 1_000,
      count: 1,
      details: { value: 90 },
    });
    expect(alarm.notifiedAt).toBe(5_000);
    expect(outcomeOf(alarm)).toEqual({ event: 'alarm:created', notify: 'created' });
  });

  it('counts a repeat, moves lastTs forward (never back) and does not notify again', () => {
    const clock = clockAt(5_000);
    let alarm = raise(null, signal(), 'a-1', clock);
    clock.advance(1_000);
    alarm = raise(alarm, signal({ ts: 3_000, details: { value: 95 } }), 'unused', clock);
    alarm = raise(alarm, signal({ ts: 2_000 }), 'unused', clock);
    expect(alarm).toMatchObject({ id: 'a-1', count: 3, startTs: 1_000, lastTs: 3_000, notifiedAt: 5_000 });
    expect(outcomeOf(alarm)).toEqual({ event: 'alarm:updated', notify: null });
  });

  it('raises severity on a worse repeat (notifying once), lets it fall, and does not notify when it rises back', () => {
    const clock = clockAt(0);
    let alarm = raise(null, signal(), 'a-1', clock);
    clock.advance(10);
    alarm = raise(alarm, signal({ severity: 'critical', ts: 2_000 }), 'x', clock);
    expect(alarm).toMatchObject({ severity: 'critical', notifiedAt: 10 });
    expect(outcomeOf(alarm)).toEqual({ event: 'alarm:updated', notify: 'severity_rose' });
    alarm = raise(alarm, signal({ severity: 'warning', ts: 3_000 }), 'x', clock);
    expect(alarm.severity).toBe('warning');
    expect(outcomeOf(alarm).notify).toBeNull();
    alarm = raise(alarm, signal({ severity: 'critical', ts: 4_000 }), 'x', clock);
    expect(alarm.severity).toBe('critical');
    expect(outcomeOf(alarm).notify).toBeNull();
  });

  it('clears by itself after N normal readings in a row; an anomalous one restarts the count', () => {
    const clock = clockAt(0);
    let alarm = raise(null, signal(), 'a-1', clock);
    for (let i = 0; i < 4; i++) alarm = normalReading(alarm, 5, clock);
    expect(alarm).toMatchObject({ status: 'active', normalStreak: 4 });
    alarm = raise(alarm, signal({ ts: 2_000 }), 'x', clock);
    expect(alarm.normalStreak).toBe(0);
    for (let i = 0; i < 4; i++) alarm = normalReading(alarm, 5, clock);
    expect(alarm.status).toBe('active');
    clock.advance(700);
    alarm = normalReading(alarm, 5, clock);
    expect(alarm).toMatchObject({ status: 'cleared', clearTs: 700 });
    expect(alarm.clearBy).toBeUndefined();
    // Cleared stays cleared.
    expect(normalReading(alarm, 5, clock)).toBe(alarm);
  });

  it('inactivity: normal readings do not clear it, the series reporting again does', () => {
    const clock = clockAt(0);
    const silent = raise(null, signal({ type: 'inactivity', details: { silentForMs: 60_000 } }), 'i-1', clock);
    expect(normalReading(silent, 1, clock)).toBe(silent);
    clock.advance(5);
    expect(resumed(silent, clock)).toMatchObject({ status: 'cleared', clearTs: 5 });
    const threshold = raise(null, signal(), 't-1', clock);
    expect(resumed(threshold, clock)).toBe(threshold);
  });

  it('records who acknowledged and who cleared, once', () => {
    const clock = clockAt(100);
    let alarm = raise(null, signal(), 'a-1', clock);
    alarm = acknowledge(alarm, 'alice', clock);
    expect(alarm).toMatchObject({ acknowledged: true, ackBy: 'alice', ackTs: 100 });
    clock.advance(1);
    expect(acknowledge(alarm, 'bob', clock)).toBe(alarm);
    alarm = clearBy(alarm, 'bob', clock);
    expect(alarm).toMatchObject({ status: 'cleared', clearBy: 'bob', clearTs: 101 });
    expect(clearBy(alarm, 'carol', clock)).toBe(alarm);
  });

  it('escalates an unacknowledged critical alarm once the time has passed since the owner was last told, and then waits again', () => {
    const clock = clockAt(0);
    let alarm = raise(null, signal({ severity: 'critical' }), 'a-1', clock);
    clock.advance(59_999);
    expect(escalationDue(alarm, 60_000, clock)).toBe(false);
    clock.advance(1);
    expect(escalationDue(alarm, 60_000, clock)).toBe(true);
    expect(escalationDue(alarm, 0, clock)).toBe(false);
    alarm = escalated(alarm, clock);
    expect(escalationDue(alarm, 60_000, clock)).toBe(false);
    clock.advance(60_000);
    expect(escalationDue(alarm, 60_000, clock)).toBe(true);
    expect(escalationDue(acknowledge(alarm, 'ann', clock), 60_000, clock)).toBe(false);
    expect(escalationDue(clearBy(alarm, 'ann', clock), 60_000, clock)).toBe(false);
    expect(escalationDue(raise(null, signal({ severity: 'warning' }), 'w', clockAt(0)), 60_000, clock)).toBe(false);
  });
});
