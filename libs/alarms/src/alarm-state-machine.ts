import type { AlarmPayload, AlarmSeverity, AlarmType } from '#contracts';

/**
 * The alarm lifecycle (CONTRACT.md §12) as pure functions of an alarm and what happened, with the
 * time from an injected clock: no I/O. The store applies the same rules atomically where the data
 * lives (`KyselyAlarmStore.raise` is this `raise` in one INSERT ... ON CONFLICT), and the service
 * turns their outcomes into events and notifications.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** An alarm with the bookkeeping clients never see. */
export interface AlarmRecord extends AlarmPayload {
  /** Normal readings in a row since the last anomalous one. */
  normalStreak: number;
  /** The highest severity the owner was told about. */
  peakSeverity: AlarmSeverity;
  /** `peakSeverity` before the last raise; null for a new alarm. */
  previousPeak: AlarmSeverity | null;
  /** When the owner was last told (creation, a rise, an escalation). */
  notifiedAt: number;
}

/** One anomalous observation of a series: what raises or repeats an alarm. */
export interface AlarmSignal {
  sensorId: string;
  metric: string;
  type: AlarmType;
  severity: AlarmSeverity;
  /** When it was observed (the reading's time; for inactivity, the sweep's). */
  ts: number;
  details: Record<string, unknown>;
}

const RANK: Record<AlarmSeverity, number> = { warning: 1, critical: 2 };

export function higher(a: AlarmSeverity, b: AlarmSeverity): AlarmSeverity {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * A signal on a series: a new alarm, or the active one repeated. A repeat counts, moves `lastTs`
 * forward, takes the signal's severity (so it rises and falls with the readings) and details, and
 * restarts the count of normal readings.
 */
export function raise(active: AlarmRecord | null, signal: AlarmSignal, id: string, clock: Clock): AlarmRecord {
  if (!active) {
    return {
      id,
      sensorId: signal.sensorId,
      metric: signal.metric,
      type: signal.type,
      severity: signal.severity,
      status: 'active',
      acknowledged: false,
      startTs: signal.ts,
      lastTs: signal.ts,
      count: 1,
      details: signal.details,
      normalStreak: 0,
      peakSeverity: signal.severity,
      previousPeak: null,
      notifiedAt: clock.now(),
    };
  }
  const rose = RANK[signal.severity] > RANK[active.peakSeverity];
  return {
    ...active,
    severity: signal.severity,
    lastTs: Math.max(active.lastTs, signal.ts),
    count: active.count + 1,
    details: signal.details,
    normalStreak: 0,
    peakSeverity: higher(active.peakSeverity, signal.severity),
    previousPeak: active.peakSeverity,
    notifiedAt: rose ? clock.now() : active.notifiedAt,
  };
}

export type RaiseOutcome = { event: 'alarm:created' | 'alarm:updated'; notify: 'created' | 'severity_rose' | null };

/**
 * What a raise means for clients and the owner: created (notify), or updated, notifying only when
 * the severity went above anything the owner was told about (a repeat alone never notifies, nor
 * does a severity that falls and rises back).
 */
export function outcomeOf(alarm: AlarmRecord): RaiseOutcome {
  if (alarm.previousPeak === null) return { event: 'alarm:created', notify: 'created' };
  return { event: 'alarm:updated', notify: RANK[alarm.peakSeverity] > RANK[alarm.previousPeak] ? 'severity_rose' : null };
}

/** A normal reading of an alarm's series: after `clearAfter` in a row, an anomaly or threshold alarm clears by itself. */
export function normalReading(alarm: AlarmRecord, clearAfter: number, clock: Clock): AlarmRecord {
  if (alarm.status !== 'active' || alarm.type === 'inactivity') return alarm;
  const normalStreak = alarm.normalStreak + 1;
  if (normalStreak < clearAfter) return { ...alarm, normalStreak };
  return { ...alarm, normalStreak, status: 'cleared', clearTs: clock.now() };
}

/** A silent series reported again: its inactivity alarm clears. */
export function resumed(alarm: AlarmRecord, clock: Clock): AlarmRecord {
  if (alarm.status !== 'active' || alarm.type !== 'inactivity') return alarm;
  return { ...alarm, status: 'cleared', clearTs: clock.now() };
}

/** Acknowledged once, by the first who does it; acknowledging again changes nothing. A cleared alarm may still be acknowledged. */
export function acknowledge(alarm: AlarmRecord, userId: string, clock: Clock): AlarmRecord {
  if (alarm.acknowledged) return alarm;
  return { ...alarm, acknowledged: true, ackTs: clock.now(), ackBy: userId };
}

/** Cleared by a user; clearing a cleared alarm changes nothing. */
export function clearBy(alarm: AlarmRecord, userId: string, clock: Clock): AlarmRecord {
  if (alarm.status === 'cleared') return alarm;
  return { ...alarm, status: 'cleared', clearTs: clock.now(), clearBy: userId };
}

/** An active, unacknowledged critical alarm whose owner was last told `escalateAfterMs` ago or more (0: never). */
export function escalationDue(alarm: AlarmRecord, escalateAfterMs: number, clock: Clock): boolean {
  return (
    escalateAfterMs > 0 &&
    alarm.status === 'active' &&
    !alarm.acknowledged &&
    alarm.severity === 'critical' &&
    clock.now() - alarm.notifiedAt >= escalateAfterMs
  );
}

/** Escalated: the owner was told again now. */
export function escalated(alarm: AlarmRecord, clock: Clock): AlarmRecord {
  return { ...alarm, notifiedAt: clock.now() };
}

/** What clients see. */
export function toPayload(alarm: AlarmRecord): AlarmPayload {
  const { normalStreak: _streak, peakSeverity: _peak, previousPeak: _previous, notifiedAt: _notified, ...payload } = alarm;
  return payload;
}
