import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DATABASE_KINDS, openTestDatabase } from '../../../../test/support/database.js';
import { acknowledge, normalReading, outcomeOf, raise, type AlarmRecord, type AlarmSignal, type Clock } from '../alarm-state-machine.js';
import { KyselyAlarmStore } from './kysely-alarm.store.js';

const signal = (over: Partial<AlarmSignal> = {}): AlarmSignal => ({
  sensorId: 's-1',
  metric: 'temp',
  type: 'threshold',
  severity: 'warning',
  ts: 1_000,
  details: { value: 90 },
  ...over,
});
const at = (now: number): Clock => ({ now: () => now });

describe.each(DATABASE_KINDS)('KyselyAlarmStore on %s', (kind) => {
  let store: KyselyAlarmStore;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const database = await openTestDatabase(kind);
    close = database.close;
    store = new KyselyAlarmStore(database.connection.db);
  });
  afterAll(() => close());

  it('raises and repeats exactly as the state machine does', async () => {
    const steps: [AlarmSignal, number][] = [
      [signal({ sensorId: 'sm' }), 10],
      [signal({ sensorId: 'sm', ts: 3_000 }), 20],
      [signal({ sensorId: 'sm', ts: 2_000, severity: 'critical' }), 30],
      [signal({ sensorId: 'sm', ts: 4_000, details: { value: 1 } }), 40],
      [signal({ sensorId: 'sm', ts: 5_000, severity: 'critical' }), 50],
    ];
    let expected: AlarmRecord | null = null;
    for (const [step, now] of steps) {
      expected = raise(expected, step, expected?.id ?? 'a-sm', at(now));
      const stored = await store.raise(step, `ignored-${now}`, now);
      expect(stored).toEqual({ ...expected, id: stored.id });
      expected = { ...expected, id: stored.id };
    }
    expect(outcomeOf(expected!)).toEqual({ event: 'alarm:updated', notify: null });
  });

  it('keeps one active alarm per series when many raise at once, counting every raise', async () => {
    const raised = await Promise.all(Array.from({ length: 20 }, (_, i) => store.raise(signal({ sensorId: 'race', ts: 1_000 + i }), `race-${i}`, 1)));
    expect(new Set(raised.map((a) => a.id)).size).toBe(1);
    expect(raised.filter((a) => outcomeOf(a).event === 'alarm:created')).toHaveLength(1);
    expect(Math.max(...raised.map((a) => a.count))).toBe(20);
    expect((await store.list({ sensorId: 'race', limit: 10 })).items).toHaveLength(1);
    // Another type or metric of the same sensor is another alarm.
    const other = await store.raise(signal({ sensorId: 'race', type: 'anomaly' }), 'race-anomaly', 1);
    expect(other.id).toBe('race-anomaly');
  });

  it('clears after N normal readings in a row, then a new raise is a new alarm', async () => {
    const first = await store.raise(signal({ sensorId: 'clr' }), 'clr-1', 1);
    const inactivity = await store.raise(signal({ sensorId: 'clr', type: 'inactivity' }), 'clr-i', 1);
    let model = first;
    for (let i = 0; i < 2; i++) {
      expect(await store.normalReading('clr', 'temp', 3, 100)).toEqual([]);
      model = normalReading(model, 3, at(100));
    }
    const cleared = await store.normalReading('clr', 'temp', 3, 100);
    model = normalReading(model, 3, at(100));
    expect(cleared).toEqual([model]);
    expect(cleared[0]).toMatchObject({ status: 'cleared', clearTs: 100 });
    expect((await store.get(inactivity.id))?.status).toBe('active');
    const again = await store.raise(signal({ sensorId: 'clr' }), 'clr-2', 200);
    expect(again).toMatchObject({ id: 'clr-2', count: 1 });
    expect(await store.clearActive({ sensorId: 'clr', metric: 'temp', type: 'inactivity' }, 300)).toMatchObject({
      id: 'clr-i',
      status: 'cleared',
      clearTs: 300,
    });
    expect(await store.clearActive({ sensorId: 'clr', metric: 'temp', type: 'inactivity' }, 300)).toBeNull();
  });

  it('acknowledges and clears once, recording who and when; unknown ids are null', async () => {
    const alarm = await store.raise(signal({ sensorId: 'ack' }), 'ack-1', 1);
    const acked = await store.acknowledge(alarm.id, 'alice', 50);
    expect(acked).toEqual({ alarm: acknowledge(alarm, 'alice', at(50)), changed: true });
    expect(await store.acknowledge(alarm.id, 'bob', 60)).toMatchObject({ changed: false, alarm: { ackBy: 'alice', ackTs: 50 } });
    expect(await store.clear(alarm.id, 'bob', 70)).toMatchObject({ changed: true, alarm: { status: 'cleared', clearBy: 'bob', clearTs: 70 } });
    expect(await store.clear(alarm.id, 'carol', 80)).toMatchObject({ changed: false, alarm: { clearBy: 'bob' } });
    expect(await store.acknowledge('00000000-0000-4000-8000-000000000000', 'x', 1)).toBeNull();
    expect(await store.clear('00000000-0000-4000-8000-000000000000', 'x', 1)).toBeNull();
  });

  it('lists with filters and cursor paging, newest first, and counts for badges', async () => {
    for (let i = 0; i < 5; i++) await store.raise(signal({ sensorId: 'page', metric: `m${i}`, severity: i % 2 ? 'critical' : 'warning' }), `page-${i}`, 1);
    await store.acknowledge('page-1', 'u', 2);
    await store.clear('page-4', 'u', 2);
    const first = await store.list({ sensorId: 'page', limit: 2 });
    expect(first.items.map((a) => a.id)).toEqual(['page-4', 'page-3']);
    const second = await store.list({ sensorId: 'page', limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((a) => a.id)).toEqual(['page-2', 'page-1']);
    const last = await store.list({ sensorId: 'page', limit: 2, cursor: second.nextCursor! });
    expect(last).toEqual({ items: [expect.objectContaining({ id: 'page-0' })], nextCursor: null });
    expect((await store.list({ sensorId: 'page', status: 'active', acknowledged: false, severity: 'critical', limit: 10 })).items.map((a) => a.id)).toEqual([
      'page-3',
    ]);
    expect(await store.list({ limit: 10, cursor: 'no-such-alarm' })).toEqual({ items: [], nextCursor: null });

    const counts = await store.counts();
    const all = [...(await store.list({ limit: 1000 })).items];
    const active = all.filter((a) => a.status === 'active');
    expect(counts).toEqual({
      active: active.length,
      cleared: all.length - active.length,
      unacknowledged: active.filter((a) => !a.acknowledged).length,
      bySeverity: { warning: active.filter((a) => a.severity === 'warning').length, critical: active.filter((a) => a.severity === 'critical').length },
    });
    expect((await store.activeKeys()).filter((k) => k.sensorId === 'page')).toHaveLength(4);
  });

  it('lets one of several instances claim an escalation', async () => {
    const alarm = await store.raise(signal({ sensorId: 'esc', severity: 'critical' }), 'esc-1', 1_000);
    expect((await store.dueForEscalation(999, 10)).map((a) => a.id)).not.toContain('esc-1');
    const due = (await store.dueForEscalation(1_000, 100)).find((a) => a.id === 'esc-1')!;
    expect(due).toBeDefined();
    const claims = await Promise.all([store.claimEscalation(due, 5_000), store.claimEscalation(due, 5_000), store.claimEscalation(due, 5_001)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect((await store.get(alarm.id))?.notifiedAt).toBeGreaterThanOrEqual(5_000);
  });
});
