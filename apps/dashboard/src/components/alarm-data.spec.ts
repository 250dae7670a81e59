import { describe, expect, it } from '@jest/globals';
import type { AlarmPayload } from '#contracts';
import { activeBySeries, alarmsPath, mergeAlarm, type AlarmFilters } from './alarm-data.js';

const alarm = (over: Partial<AlarmPayload> = {}): AlarmPayload => ({
  id: 'a',
  sensorId: 's',
  metric: 'm',
  type: 'threshold',
  severity: 'critical',
  status: 'active',
  acknowledged: false,
  startTs: 1,
  lastTs: 1,
  count: 1,
  details: {},
  ...over,
});
const ACTIVE: AlarmFilters = { status: 'active', severity: '', acknowledged: '' };

describe('alarm list helpers', () => {
  it('builds the query from the filters that are set', () => {
    expect(alarmsPath({ status: 'active', severity: '', acknowledged: 'false' }, null)).toBe('alarms?status=active&acknowledged=false&limit=50');
    expect(alarmsPath({ status: '', severity: 'warning', acknowledged: '' }, 'c-1', 10)).toBe('alarms?severity=warning&cursor=c-1&limit=10');
  });

  it('puts a new matching alarm on top, updates a known one, and drops one that stops matching', () => {
    const older = alarm({ id: 'old' });
    let list = mergeAlarm([older], alarm({ id: 'new' }), ACTIVE);
    expect(list.map((a) => a.id)).toEqual(['new', 'old']);
    list = mergeAlarm(list, alarm({ id: 'old', count: 4 }), ACTIVE);
    expect(list.find((a) => a.id === 'old')?.count).toBe(4);
    // A late, older event does not undo the newer state.
    list = mergeAlarm(list, alarm({ id: 'old', count: 2 }), ACTIVE);
    expect(list.find((a) => a.id === 'old')?.count).toBe(4);
    list = mergeAlarm(list, alarm({ id: 'old', count: 4, status: 'cleared' }), ACTIVE);
    expect(list.map((a) => a.id)).toEqual(['new']);
    expect(mergeAlarm(list, alarm({ id: 'other', severity: 'warning' }), { ...ACTIVE, severity: 'critical' })).toEqual(list);
  });

  it('groups active alarms by series', () => {
    const grouped = activeBySeries([
      alarm({ id: '1' }),
      alarm({ id: '2', type: 'inactivity' }),
      alarm({ id: '3', status: 'cleared' }),
      alarm({ id: '4', metric: 'n' }),
    ]);
    expect([...grouped].map(([key, alarms]) => [key, alarms.map((a) => a.id)])).toEqual([
      ['s/m', ['1', '2']],
      ['s/n', ['4']],
    ]);
  });
});
