import { describe, expect, it } from '@jest/globals';
import { MetricRegistry } from './metric-registry.js';

describe('MetricRegistry', () => {
  it('admits up to maxMetrics names per sensor, and the known ones again', () => {
    const sut = new MetricRegistry(2, 10);
    expect(sut.admit('s', 'temp')).toBe(true);
    expect(sut.admit('s', 'rh')).toBe(true);
    expect(sut.admit('s', 'co2')).toBe(false);
    expect(sut.admit('s', 'temp')).toBe(true);
    expect(sut.admit('t', 'co2')).toBe(true);
    sut.forget('s');
    expect(sut.admit('s', 'co2')).toBe(true);
  });

  it('counts the first metric of a sensor and the ones after it alike, whatever the limit', () => {
    const one = new MetricRegistry(1, 10);
    expect(one.admit('s', 'temp')).toBe(true);
    expect(one.admit('s', 'temp')).toBe(true);
    expect(one.admit('s', 'rh')).toBe(false);
    const three = new MetricRegistry(3, 10);
    for (const metric of ['a', 'b', 'a', 'c', 'b']) expect(three.admit('s', metric)).toBe(true);
    expect(three.admit('s', 'd')).toBe(false);
    expect(three.admit('s', 'c')).toBe(true);
    expect(new MetricRegistry(0, 10).admit('s', 'temp')).toBe(false);
  });

  it('holds at most maxSensors sensors', () => {
    const sut = new MetricRegistry(1, 3);
    for (let i = 0; i < 1000; i++) sut.admit(`s-${i}`, 'm');
    expect(sut.sensors).toBe(3);
  });
});
