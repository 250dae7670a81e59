import { describe, expect, it } from '@jest/globals';
import { dialectOf, publicAccessAllowed, requestedTopics, sensorConnectionFrame } from './sensor-dialect.js';

describe('the sensor module dialect at the edges', () => {
  it('is spoken on /api/v1/ws and /api/v1/ws/secure, never on /ws', () => {
    expect(dialectOf('/api/v1/ws')).toBe('sensor');
    expect(dialectOf('/api/v1/ws/secure')).toBe('sensor');
    expect(dialectOf('/ws')).toBe('ws');
  });

  it('reads ?channel= (repeatable), ?channels=a,b and ?topics=a,b, trimmed and once each', () => {
    expect(requestedTopics(new URLSearchParams('channel=sensors'))).toEqual(['sensors']);
    expect(requestedTopics(new URLSearchParams('channels=sensors, general,,&channel=sensors&channel=readings'))).toEqual(['sensors', 'general', 'readings']);
    expect(requestedTopics(new URLSearchParams('topics=a,b&topics=c'))).toEqual(['a', 'b', 'c']);
    expect(requestedTopics(new URLSearchParams('token=x'))).toEqual([]);
  });

  it('names the channel, the list of several, or null in the connection frame', () => {
    const now = new Date(Date.UTC(2026, 0, 2));
    expect(sensorConnectionFrame(['sensors'], now)).toEqual({
      type: 'connection',
      status: 'connected',
      channel: 'sensors',
      channels: ['sensors'],
      timestamp: '2026-01-02T00:00:00.000Z',
    });
    expect(sensorConnectionFrame(['a', 'b'], now)).toMatchObject({ channel: 'a,b', channels: ['a', 'b'] });
    expect(sensorConnectionFrame([], now)).toMatchObject({ channel: null, channels: [] });
  });

  it('admits a tokenless client only on /api/v1/ws, asking for public channels only, at least one', () => {
    const open = new Set(['general', 'sensors']);
    expect(publicAccessAllowed('/api/v1/ws', ['sensors'], open)).toBe(true);
    expect(publicAccessAllowed('/api/v1/ws', ['general', 'sensors'], open)).toBe(true);
    expect(publicAccessAllowed('/api/v1/ws', ['general', 'readings'], open)).toBe(false);
    expect(publicAccessAllowed('/api/v1/ws', [], open)).toBe(false);
    expect(publicAccessAllowed('/api/v1/ws/secure', ['sensors'], open)).toBe(false);
    expect(publicAccessAllowed('/ws', ['sensors'], open)).toBe(false);
    expect(publicAccessAllowed('/api/v1/ws', ['sensors'], new Set())).toBe(false);
  });
});
