import { describe, expect, it } from '@jest/globals';
import { canBePublic } from '#contracts';
import { resolveRealtimeOptions } from '../realtime.options.js';
import { authorizeTopic } from './topic-acl.js';

describe('authorizeTopic', () => {
  it.each([
    ['general', 'user', 'ok'],
    ['sensors', 'user', 'ok'],
    ['readings', 'service', 'ok'],
    ['locations', 'user', 'ok'],
    ['anomalies', 'user', 'ok'],
    ['predictions', 'user', 'ok'],
    ['sensor:boiler-1', 'user', 'ok'],
    ['sensor:a.b_c-D9', 'user', 'ok'],
    ['system', 'admin', 'ok'],
    ['system', 'service', 'FORBIDDEN'],
    ['system', 'user', 'FORBIDDEN'],
    ['user:alice', 'user', 'FORBIDDEN'],
    ['user:alice', 'admin', 'FORBIDDEN'],
    ['sensor:', 'user', 'UNKNOWN_TOPIC'],
    ['sensor:a/b', 'user', 'UNKNOWN_TOPIC'],
    ['sensor:+', 'user', 'UNKNOWN_TOPIC'],
    [`sensor:${'x'.repeat(65)}`, 'user', 'UNKNOWN_TOPIC'],
    ['General', 'user', 'UNKNOWN_TOPIC'],
    ['', 'user', 'UNKNOWN_TOPIC'],
    ['__proto__', 'user', 'UNKNOWN_TOPIC'],
  ] as const)('%s for %s: %s', (topic, role, expected) => {
    const decision = authorizeTopic(topic, role);
    expect(decision.ok ? 'ok' : decision.error.code).toBe(expected);
  });

  it('refuses with the fixed message of the code, never the name it was given', () => {
    expect(authorizeTopic('<script>weather', 'user')).toEqual({ ok: false, error: { code: 'UNKNOWN_TOPIC', message: 'Unknown topic' } });
    expect(authorizeTopic('system', 'user')).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: 'Not allowed' } });
  });
});

describe('canBePublic (WS_PUBLIC_CHANNELS)', () => {
  it.each([
    ['general', true],
    ['sensors', true],
    ['readings', true],
    ['locations', true],
    ['anomalies', true],
    ['predictions', true],
    ['sensor:boiler-1', true],
    ['system', false],
    ['user:alice', false],
    ['sensor:a/b', false],
    ['weather', false],
    ['', false],
  ] as const)('%s: %s', (topic, expected) => {
    expect(canBePublic(topic)).toBe(expected);
  });

  it('is enforced by the module options too, for apps that configure it in code', () => {
    expect(resolveRealtimeOptions({}).publicChannels).toEqual([]);
    expect(resolveRealtimeOptions({ publicChannels: ['general'] }).publicChannels).toEqual(['general']);
    expect(() => resolveRealtimeOptions({ publicChannels: ['general', 'system'] })).toThrow('publicChannels may list only topics every role may read');
  });
});
