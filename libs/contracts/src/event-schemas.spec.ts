import { describe, expect, it } from '@jest/globals';
import { checkShape, EVENT_SCHEMAS, isServerEventName } from './event-schemas.js';

describe('event schemas', () => {
  it('accepts well-formed payloads', () => {
    expect(checkShape({ sensorId: 's', metric: 'm', value: 1, ts: 2 }, EVENT_SCHEMAS['reading:new'])).toEqual([]);
    expect(checkShape({ level: 'info', message: 'hi', timestamp: '2026-01-01T00:00:00Z', data: { any: 1 } }, EVENT_SCHEMAS['system:event'])).toEqual([]);
    expect(checkShape({ leaderboard: [{ userId: 'u', xp: 1, rank: 1 }] }, EVENT_SCHEMAS['leaderboard:updated'])).toEqual([]);
  });

  it('takes the user stream position on authenticated (CONTRACT.md §9), and checks its types', () => {
    const identity = { success: true, userId: 'u', role: 'user' };
    expect(checkShape(identity, EVENT_SCHEMAS.authenticated)).toEqual([]);
    expect(checkShape({ ...identity, epoch: 'Qb3k9xT1', offset: 4, recovered: false }, EVENT_SCHEMAS.authenticated)).toEqual([]);
    expect(checkShape({ ...identity, epoch: 7, offset: '4', recovered: 'no' }, EVENT_SCHEMAS.authenticated)).toEqual([
      'payload.epoch must be a string',
      'payload.offset must be a finite number',
      'payload.recovered must be a boolean',
    ]);
  });

  it('names every problem', () => {
    expect(checkShape({ sensorId: 1, value: 'x', ts: 2, extra: true }, EVENT_SCHEMAS['reading:new'])).toEqual([
      'payload.sensorId must be a string',
      'payload.metric is required',
      'payload.value must be a finite number',
      'payload.extra is not allowed',
    ]);
    expect(checkShape({ level: 'loud', message: 'x', timestamp: 'yesterday' }, EVENT_SCHEMAS['system:event'])).toEqual([
      'payload.level must be one of info, warning, error',
      'payload.timestamp must be an ISO 8601 date-time',
    ]);
    expect(checkShape({ leaderboard: [{ userId: 'u', xp: 1 }] }, EVENT_SCHEMAS['leaderboard:updated'])).toEqual(['payload.leaderboard[0].rank is required']);
    expect(checkShape('text', EVENT_SCHEMAS['rank:updated'])).toEqual(['payload must be an object']);
  });

  it('knows the event names and nothing else', () => {
    expect(isServerEventName('reading:new')).toBe(true);
    expect(isServerEventName('toString')).toBe(false);
    expect(isServerEventName('reading:old')).toBe(false);
    // The gateway's own notice: nobody may publish it to a topic.
    expect(isServerEventName('stream:reset')).toBe(false);
  });
});
