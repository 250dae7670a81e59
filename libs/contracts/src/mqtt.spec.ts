import { describe, expect, it } from '@jest/globals';
import { parseReading, seriesKey } from './mqtt.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const bytes = (text: string) => new TextEncoder().encode(text);
const parse = (payload: string, topic = 'sensors/boiler-1/temperature') => parseReading(topic, bytes(payload), NOW);

describe('parseReading', () => {
  it.each([
    ['23.5', { value: 23.5, ts: NOW }],
    [' -4 ', { value: -4, ts: NOW }],
    ['1e3', { value: 1000, ts: NOW }],
    ['-1e300', { value: -1e300, ts: NOW }],
    ['{"value": 21.5}', { value: 21.5, ts: NOW }],
    ['{"value": 21.5, "unit": "C"}', { value: 21.5, unit: 'C', ts: NOW }],
    [`{"value": 0, "ts": ${NOW - 5000}}`, { value: 0, ts: NOW - 5000 }],
    ['{"value": 1, "ts": "2026-11-23T11:59:00.000Z"}', { value: 1, ts: NOW - 60_000 }],
    ['{"value": 1, "data": {"x": 1}, "id": 7}', { value: 1, ts: NOW }],
  ])('accepts %s', (payload, expected) => {
    expect(parse(payload)).toEqual({ ok: true, reading: { sensorId: 'boiler-1', metric: 'temperature', ...expected } });
  });

  it.each([
    ['sensors/boiler-1', '1', 'bad_topic'],
    ['sensors/boiler-1/temp/extra', '1', 'bad_topic'],
    ['devices/boiler-1/temp', '1', 'bad_topic'],
    ['sensors//temp', '1', 'bad_topic'],
    [`sensors/${'x'.repeat(65)}/temp`, '1', 'bad_topic'],
    ['sensors/bad id/temp', '1', 'bad_topic'],
    ['sensors/boiler-1/temperature', 'x'.repeat(1025), 'too_large'],
    ['sensors/boiler-1/temperature', '', 'not_a_number'],
    ['sensors/boiler-1/temperature', 'hot', 'not_a_number'],
    ['sensors/boiler-1/temperature', '0x', 'not_a_number'],
    ['sensors/boiler-1/temperature', 'true', 'not_a_number'],
    ['sensors/boiler-1/temperature', 'null', 'not_a_number'],
    ['sensors/boiler-1/temperature', '[1,2]', 'not_a_number'],
    ['sensors/boiler-1/temperature', '{"value": "21"}', 'not_a_number'],
    ['sensors/boiler-1/temperature', '{"value": null}', 'not_a_number'],
    ['sensors/boiler-1/temperature', '{"temp": 21}', 'not_a_number'],
    ['sensors/boiler-1/temperature', '{"value": 1', 'not_a_number'],
    ['sensors/boiler-1/temperature', '{"__proto__": {"value": 1}}', 'not_a_number'],
    ['sensors/boiler-1/temperature', 'NaN', 'not_finite'],
    ['sensors/boiler-1/temperature', 'Infinity', 'not_finite'],
    ['sensors/boiler-1/temperature', '-Infinity', 'not_finite'],
    ['sensors/boiler-1/temperature', '{"value": 1e999}', 'not_finite'],
    ['sensors/boiler-1/temperature', '1.5e300', 'not_finite'],
    ['sensors/boiler-1/temperature', '{"value": -1e301}', 'not_finite'],
    ['sensors/boiler-1/temperature', '{"value": 1, "ts": 1700000000}', 'bad_ts'],
    ['sensors/boiler-1/temperature', `{"value": 1, "ts": ${NOW + 2 * 24 * 3600 * 1000}}`, 'bad_ts'],
    ['sensors/boiler-1/temperature', '{"value": 1, "ts": "yesterday"}', 'bad_ts'],
    ['sensors/boiler-1/temperature', '{"value": 1, "ts": "2026-13-45T00:00:00Z"}', 'bad_ts'],
    ['sensors/boiler-1/temperature', '{"value": 1, "ts": true}', 'bad_ts'],
    ['sensors/boiler-1/temperature', '{"value": 1, "unit": 5}', 'bad_unit'],
    ['sensors/boiler-1/temperature', `{"value": 1, "unit": "${'u'.repeat(17)}"}`, 'bad_unit'],
  ])('refuses %s %s as %s', (topic, payload, reason) => {
    expect(parse(payload, topic)).toMatchObject({ ok: false, reason });
  });

  it('never throws on arbitrary bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const random = Uint8Array.from({ length: Math.floor(Math.random() * 64) }, () => Math.floor(Math.random() * 256));
      expect(() => parseReading('sensors/a/b', random, NOW)).not.toThrow();
    }
  });
});

describe('seriesKey', () => {
  it('names each series by sensor and metric, also when the last key is handed out again', () => {
    const keys = [
      ['s1', 'temp'],
      ['s1', 'temp'],
      ['s1', 'hum'],
      ['s2', 'hum'],
      ['s1', 'temp'],
    ].map(([sensorId, metric]) => seriesKey(sensorId!, metric!));
    expect(keys).toEqual(['s1/temp', 's1/temp', 's1/hum', 's2/hum', 's1/temp']);
  });
});
