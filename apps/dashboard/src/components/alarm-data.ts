import type { AlarmPayload } from '#contracts';

export interface AlarmFilters {
  status: '' | 'active' | 'cleared';
  severity: '' | 'warning' | 'critical';
  acknowledged: '' | 'true' | 'false';
}

/** `GET alarms?...` for the filters; empty filters are left out. */
export function alarmsPath(filters: AlarmFilters, cursor: string | null, limit = 50): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
  if (cursor) query.set('cursor', cursor);
  query.set('limit', String(limit));
  return `alarms?${query.toString()}`;
}

export function matches(alarm: AlarmPayload, filters: AlarmFilters): boolean {
  return (
    (!filters.status || alarm.status === filters.status) &&
    (!filters.severity || alarm.severity === filters.severity) &&
    (!filters.acknowledged || String(alarm.acknowledged) === filters.acknowledged)
  );
}

/**
 * A list after one alarm event: the alarm replaces its older self, a new one that matches goes on
 * top (newest first), and one that no longer matches the filters leaves.
 */
export function mergeAlarm(list: readonly AlarmPayload[], alarm: AlarmPayload, filters: AlarmFilters): AlarmPayload[] {
  const index = list.findIndex((item) => item.id === alarm.id);
  if (!matches(alarm, filters)) return index === -1 ? [...list] : list.filter((item) => item.id !== alarm.id);
  if (index === -1) return [alarm, ...list];
  const next = [...list];
  // An older event arriving late must not undo a newer one.
  if (isNewer(alarm, list[index]!)) next[index] = alarm;
  return next;
}

/** Later in its life: more repeats, acknowledged, cleared. */
function isNewer(candidate: AlarmPayload, current: AlarmPayload): boolean {
  const stage = (a: AlarmPayload) => [a.status === 'cleared' ? 1 : 0, a.acknowledged ? 1 : 0, a.count] as const;
  const [c1, c2, c3] = stage(candidate);
  const [k1, k2, k3] = stage(current);
  return c1 > k1 || (c1 === k1 && (c2 > k2 || (c2 === k2 && c3 >= k3)));
}

/** Active alarms by series (`sensorId/metric`), for marking charts. */
export function activeBySeries(alarms: Iterable<AlarmPayload>): Map<string, AlarmPayload[]> {
  const bySeries = new Map<string, AlarmPayload[]>();
  for (const alarm of alarms) {
    if (alarm.status !== 'active') continue;
    const key = `${alarm.sensorId}/${alarm.metric}`;
    bySeries.set(key, [...(bySeries.get(key) ?? []), alarm]);
  }
  return bySeries;
}
