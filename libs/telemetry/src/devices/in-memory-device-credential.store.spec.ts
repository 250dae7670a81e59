import { describe, expect, it } from '@jest/globals';
import { generateDeviceToken, hashDeviceToken, verifyDeviceToken } from './device-token.js';
import { InMemoryDeviceCredentialStore } from './in-memory-device-credential.store.js';

describe('InMemoryDeviceCredentialStore', () => {
  it('stores one hash per sensor, replaces it, and deletes it once', async () => {
    const sut = new InMemoryDeviceCredentialStore();
    expect(await sut.get('boiler-1')).toBeNull();
    await sut.set('boiler-1', 'sha256:a');
    await sut.set('boiler-2', 'sha256:b');
    await sut.set('boiler-1', 'sha256:c');
    expect(await sut.get('boiler-1')).toBe('sha256:c');
    expect(await sut.delete('boiler-1')).toBe(true);
    expect(await sut.delete('boiler-1')).toBe(false);
    expect(await sut.get('boiler-1')).toBeNull();
    expect(await sut.get('boiler-2')).toBe('sha256:b');
  });
});

describe('device tokens', () => {
  it('are 32 random bytes in base64url, verified only against their own hash', () => {
    const token = generateDeviceToken();
    const other = generateDeviceToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(other).not.toBe(token);
    const hash = hashDeviceToken(token);
    expect(hash).not.toContain(token);
    expect(verifyDeviceToken(token, hash)).toBe(true);
    expect(verifyDeviceToken(Buffer.from(token), hash)).toBe(true);
    expect(verifyDeviceToken(other, hash)).toBe(false);
    expect(verifyDeviceToken('', hash)).toBe(false);
    expect(verifyDeviceToken(token, 'plain:' + token)).toBe(false);
    expect(verifyDeviceToken(token, 'sha256:short')).toBe(false);
  });
});
