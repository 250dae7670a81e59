import { describe, expect, it } from '@jest/globals';
import type { EntityEvent, ServerEventName, ServerEventPayloads } from '#contracts';
import { StreamPublication } from '../streams/index.js';
import { flatFrame, flatFrameJson } from './flat-frame.js';

const source = <E extends ServerEventName>(event: E, payload: ServerEventPayloads[E]) => ({ event, payload });
const TS = Date.UTC(2026, 11, 1, 9, 30, 0);
const ISO = '2026-12-01T09:30:00.000Z';

describe('flatFrame (the sensor module dialect)', () => {
  it('sends entity events as they are', () => {
    const event: EntityEvent = {
      type: 'entity_event',
      entity_type: 'sensor',
      event_type: 'created',
      entity_id: 'boiler-1',
      data: { id: 'boiler-1', name: 'Boiler' },
      timestamp: ISO,
      metadata: { by: 'alice' },
    };
    expect(flatFrame(source('sensor:created', event))).toEqual(event);
    const location: EntityEvent = { type: 'entity_event', entity_type: 'location', event_type: 'deleted', entity_id: 'hall', data: null, timestamp: ISO };
    expect(flatFrame(source('location:deleted', location))).toEqual(location);
  });

  it('turns an anomaly into an entity event named anomaly_detected, keyed by the anomaly id', () => {
    const anomaly = {
      id: 'an-7',
      sensorId: 'boiler-1',
      metric: 'temperature',
      value: 95,
      expected: { mean: 20, std: 1 },
      score: 75,
      severity: 'critical' as const,
      ts: TS,
    };
    expect(flatFrame(source('anomaly:detected', anomaly))).toEqual({
      type: 'entity_event',
      entity_type: 'anomaly',
      event_type: 'anomaly_detected',
      entity_id: 'an-7',
      data: anomaly,
      timestamp: ISO,
      metadata: { sensor_id: 'boiler-1' },
    });
  });

  it('turns a forecast into an entity event named prediction_completed, keyed by its sensor', () => {
    const prediction = { sensorId: 'boiler-1', metric: 'temperature', model: 'holt', points: [{ ts: TS + 1000, value: 21 }], ts: TS };
    expect(flatFrame(source('prediction:completed', prediction))).toEqual({
      type: 'entity_event',
      entity_type: 'prediction',
      event_type: 'prediction_completed',
      entity_id: 'boiler-1',
      data: prediction,
      timestamp: ISO,
      metadata: { sensor_id: 'boiler-1' },
    });
  });

  it('turns a reading into a created reading entity, keyed by its sensor, stamped with the reading time', () => {
    const reading = { sensorId: 'boiler-1', metric: 'temperature', value: 21.5, unit: 'C', ts: TS };
    expect(flatFrame(source('reading:new', reading))).toEqual({
      type: 'entity_event',
      entity_type: 'reading',
      event_type: 'created',
      entity_id: 'boiler-1',
      data: reading,
      timestamp: ISO,
      metadata: { sensor_id: 'boiler-1' },
    });
  });

  it('stamps an event whose time no Date can hold with the current time instead of throwing', () => {
    const reading = { sensorId: 'boiler-1', metric: 'temperature', value: 1, ts: 8.64e15 + 1 };
    const frame = flatFrame(source('reading:new', reading)) as { timestamp: string };
    expect(Date.parse(frame.timestamp)).not.toBeNaN();
  });

  it('flattens system events, with data only when they have some', () => {
    expect(flatFrame(source('system:event', { level: 'warning', message: 'maintenance', data: { in: 5 }, timestamp: ISO }))).toEqual({
      type: 'system_event',
      level: 'warning',
      message: 'maintenance',
      data: { in: 5 },
      timestamp: ISO,
    });
    expect(flatFrame(source('system:event', { level: 'info', message: 'hello', timestamp: ISO }))).toStrictEqual({
      type: 'system_event',
      level: 'info',
      message: 'hello',
      timestamp: ISO,
    });
  });

  it('flattens user events by their name', () => {
    expect(flatFrame(source('xp:gained', { amount: 10, source: 'quiz', totalXp: 110 }))).toEqual({
      type: 'xp:gained',
      amount: 10,
      source: 'quiz',
      totalXp: 110,
    });
    const notification = { id: 'n1', title: 'Hi', message: 'There', createdAt: ISO, read: false };
    expect(flatFrame(source('notification:new', { notification, timestamp: ISO }))).toEqual({ type: 'notification:new', notification, timestamp: ISO });
    expect(flatFrame(source('leaderboard:updated', { leaderboard: [] }))).toEqual({ type: 'leaderboard:updated', leaderboard: [] });
  });

  it('never lets a payload field override the name a client dispatches on', () => {
    const odd = source('rank:updated', { oldRank: 2, newRank: 1, type: 'entity_event' } as unknown as ServerEventPayloads['rank:updated']);
    expect(flatFrame(odd)).toEqual({ type: 'rank:updated', oldRank: 2, newRank: 1 });
  });

  it('adds the section 9 positions as on /ws', () => {
    const meta = { positions: { readings: 41, 'sensor:boiler-1': 7 }, epoch: { readings: 'Qb3k9xT1', 'sensor:boiler-1': 'h2Lw0pZa' } };
    const reading = { sensorId: 'boiler-1', metric: 'temperature', value: 21.5, ts: TS };
    expect(flatFrame(source('reading:new', reading), meta)).toMatchObject({ type: 'entity_event', entity_type: 'reading', ...meta });
    expect(flatFrame(source('system:event', { level: 'info', message: 'x', timestamp: ISO }), meta)).toEqual({
      type: 'system_event',
      level: 'info',
      message: 'x',
      timestamp: ISO,
      ...meta,
    });
    expect(flatFrame(source('xp:gained', { amount: 1, source: 's', totalXp: 1 }), meta)).toEqual({
      type: 'xp:gained',
      amount: 1,
      source: 's',
      totalXp: 1,
      ...meta,
    });
  });

  it('reads a stream publication, whether it came from this instance or as JSON from another', () => {
    const reading = { sensorId: 'boiler-1', metric: 'temperature', value: 21.5, ts: TS };
    const local = StreamPublication.fromValue('reading:new', reading, TS, { readings: 3 }, { readings: 'e1' });
    const remote = StreamPublication.fromJson('reading:new', JSON.stringify(reading), TS, { readings: 3 }, { readings: 'e1' });
    const meta = local.metaFor(['readings']);
    expect(JSON.parse(flatFrameJson(remote, meta))).toEqual(JSON.parse(flatFrameJson(local, meta)));
    expect(JSON.parse(flatFrameJson(local, meta))).toMatchObject({
      type: 'entity_event',
      entity_id: 'boiler-1',
      positions: { readings: 3 },
      epoch: { readings: 'e1' },
    });
  });
});
