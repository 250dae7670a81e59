import { beforeEach, describe, expect, it } from '@jest/globals';
import { generateDeviceToken, hashDeviceToken } from '../devices/device-token.js';
import { InMemoryDeviceCredentialStore } from '../devices/in-memory-device-credential.store.js';
import { BrokerAccess, GATEWAY_USERNAME, type BrokerAccessOptions } from './broker-access.js';

const SECRET = 'per-process-secret';
const options: BrokerAccessOptions = { topicPrefix: 'site/', allowAnonymous: false, gatewayClientId: 'gateway-host-3000', gatewaySecret: SECRET };

describe('BrokerAccess', () => {
  let store: InMemoryDeviceCredentialStore;
  let token: string;
  let sut: BrokerAccess;

  beforeEach(async () => {
    store = new InMemoryDeviceCredentialStore();
    token = generateDeviceToken();
    await store.set('boiler-1', hashDeviceToken(token));
    sut = new BrokerAccess(options, store);
  });

  it('logs a device in with its sensor id and token, and nothing else', async () => {
    expect(await sut.authenticate('any-client', 'boiler-1', Buffer.from(token))).toEqual({ ok: true, principal: { kind: 'device', sensorId: 'boiler-1' } });
    expect(await sut.authenticate('any-client', 'boiler-1', Buffer.from(generateDeviceToken()))).toEqual({ ok: false, returnCode: 4 });
    expect(await sut.authenticate('any-client', 'boiler-2', Buffer.from(token))).toEqual({ ok: false, returnCode: 4 });
    expect(await sut.authenticate('any-client', 'boiler-1', undefined)).toEqual({ ok: false, returnCode: 4 });
    expect(await sut.authenticate('any-client', 'not an id', Buffer.from(token))).toEqual({ ok: false, returnCode: 4 });
    expect(await sut.authenticate('any-client', undefined, undefined)).toEqual({ ok: false, returnCode: 5 });
  });

  it('admits anonymous devices only when allowed', async () => {
    const open = new BrokerAccess({ ...options, allowAnonymous: true }, store);
    expect(await open.authenticate('c', undefined, undefined)).toEqual({ ok: true, principal: { kind: 'anonymous' } });
  });

  it("keeps the gateway's client id and username for the process that knows the secret", async () => {
    expect(await sut.authenticate('gateway-host-3000', GATEWAY_USERNAME, Buffer.from(SECRET))).toEqual({ ok: true, principal: { kind: 'gateway' } });
    expect(await sut.authenticate('demo-feed', GATEWAY_USERNAME, Buffer.from(SECRET))).toEqual({ ok: true, principal: { kind: 'gateway' } });
    expect(await sut.authenticate('gateway-host-3000', GATEWAY_USERNAME, Buffer.from('guess'))).toEqual({ ok: false, returnCode: 4 });
    expect(await sut.authenticate('gateway-host-3000', 'boiler-1', Buffer.from(token))).toEqual({ ok: false, returnCode: 5 });
    const open = new BrokerAccess({ ...options, allowAnonymous: true }, store);
    expect(await open.authenticate('gateway-host-3000', undefined, undefined)).toEqual({ ok: false, returnCode: 5 });
  });

  it("refuses to hand a live connection's client id to someone else", async () => {
    const device = { kind: 'device', sensorId: 'boiler-1' } as const;
    expect(await sut.authenticate('shared-id', 'boiler-1', Buffer.from(token), device)).toMatchObject({ ok: true });
    expect(await sut.authenticate('shared-id', 'boiler-1', Buffer.from(token), { kind: 'device', sensorId: 'other' })).toEqual({ ok: false, returnCode: 5 });
    expect(await sut.authenticate('shared-id', 'boiler-1', Buffer.from(token), { kind: 'gateway' })).toEqual({ ok: false, returnCode: 5 });
  });

  it('lets a device publish only non-retained readings of its own sensor under the prefix', () => {
    const device = { kind: 'device', sensorId: 'boiler-1' } as const;
    expect(sut.authorizePublish(device, 'site/sensors/boiler-1/temp', false)).toBeNull();
    expect(sut.authorizePublish(device, 'site/sensors/boiler-2/temp', false)).toBe('unauthorized');
    expect(sut.authorizePublish(device, 'site/sensors/boiler-1/temp', true)).toBe('retained');
    expect(sut.authorizePublish(device, 'sensors/boiler-1/temp', false)).toBe('bad_topic');
    expect(sut.authorizePublish(device, 'site/sensors/boiler-1/temp/extra', false)).toBe('bad_topic');
    expect(sut.authorizePublish(device, 'site/$SYS/x/y', false)).toBe('bad_topic');
    expect(sut.authorizePublish({ kind: 'anonymous' }, 'site/sensors/any/temp', false)).toBeNull();
    expect(sut.authorizePublish({ kind: 'gateway' }, 'site/sensors/demo-1/temp', true)).toBe('retained');
    expect(sut.authorizePublish(undefined, 'site/sensors/boiler-1/temp', false)).toBe('unauthorized');
  });

  it.each([
    'site/sensors//temp',
    'site/sensors/boiler-1/',
    'site/sensors//',
    'site/sensors/boiler 1/temp',
    `site/sensors/${'i'.repeat(65)}/temp`,
    'site/sensors/boiler-1/t+',
    'site//sensors/boiler-1/temp',
    '/site/sensors/boiler-1/temp',
  ])('refuses %s as bad_topic, for anonymous devices and the gateway too (aedes would route empty levels to sensors/+/+)', (topic) => {
    expect(sut.authorizePublish({ kind: 'anonymous' }, topic, false)).toBe('bad_topic');
    expect(sut.authorizePublish({ kind: 'gateway' }, topic, false)).toBe('bad_topic');
  });

  it('lets only the gateway subscribe', () => {
    expect(sut.authorizeSubscribe({ kind: 'gateway' })).toBe(true);
    expect(sut.authorizeSubscribe({ kind: 'device', sensorId: 'boiler-1' })).toBe(false);
    expect(sut.authorizeSubscribe({ kind: 'anonymous' })).toBe(false);
    expect(sut.authorizeSubscribe(undefined)).toBe(false);
  });
});
