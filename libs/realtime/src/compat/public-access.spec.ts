import { describe, expect, it } from '@jest/globals';
import { publicChannelsOf } from './public-access.js';

describe('publicChannelsOf (tokenless Socket.IO handshakes)', () => {
  const open = new Set(['general', 'sensors']);

  it('reads auth.channels (list or a,b) and ?channels= / ?channel=, once each', () => {
    expect(publicChannelsOf({ auth: { channels: ['sensors'] } }, open)).toEqual(['sensors']);
    expect(publicChannelsOf({ auth: { channels: 'sensors, general' } }, open)).toEqual(['sensors', 'general']);
    expect(publicChannelsOf({ query: { channels: 'general,sensors', channel: 'general' } }, open)).toEqual(['general', 'sensors']);
    expect(publicChannelsOf({ query: { channel: ['sensors', 'general'] } }, open)).toEqual(['sensors', 'general']);
  });

  it('is null (a token is needed) for no channel, any channel that is not public, or a malformed list', () => {
    expect(publicChannelsOf({}, open)).toBeNull();
    expect(publicChannelsOf({ auth: { channels: [] } }, open)).toBeNull();
    expect(publicChannelsOf({ auth: { channels: ' , ' } }, open)).toBeNull();
    expect(publicChannelsOf({ auth: { channels: ['sensors', 'system'] } }, open)).toBeNull();
    expect(publicChannelsOf({ auth: { channels: ['user:alice'] } }, open)).toBeNull();
    expect(publicChannelsOf({ query: { channel: 'anomalies' } }, open)).toBeNull();
    expect(publicChannelsOf({ auth: { channels: [{ topic: 'sensors' }] } }, open)).toBeNull();
    expect(publicChannelsOf({ auth: { channels: 42 } }, open)).toBeNull();
    expect(publicChannelsOf({ auth: null, query: { channel: 'sensors' } }, new Set())).toBeNull();
  });
});
