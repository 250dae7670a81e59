import { describe, expect, it } from '@jest/globals';
import { SensorMqttServer } from './sensor-mqtt.server.js';

describe('SensorMqttServer.matchMqttPattern', () => {
  const sut = new SensorMqttServer({ url: 'mqtt://127.0.0.1:1' });

  it.each([
    ['sensors/+/+', 'sensors/boiler-1/temp'],
    // What a broker delivers to sensors/+/+ and Nest's own matcher dropped: the handler must see it to count it.
    ['sensors/+/+', 'sensors//temp'],
    ['sensors/+/+', 'sensors/k1/'],
    ['sensors/+/+', 'sensors//'],
    ['site/sensors/+/+', 'site/sensors/a/b'],
    ['sensors/#', 'sensors'],
    ['sensors/#', 'sensors/a/b/c'],
    ['#', 'anything/at/all'],
  ])('%s matches %s', (pattern, topic) => {
    expect(sut.matchMqttPattern(pattern, topic)).toBe(true);
  });

  it.each([
    ['sensors/+/+', 'sensors/a'],
    ['sensors/+/+', 'sensors/a/b/c'],
    ['sensors/+/+', 'other/a/b'],
    ['sensors/+/+', '/sensors/a'],
    ['site/sensors/+/+', 'sensors/a/b'],
    ['sensors/a/+', 'sensors/b/c'],
  ])('%s does not match %s', (pattern, topic) => {
    expect(sut.matchMqttPattern(pattern, topic)).toBe(false);
  });
});
