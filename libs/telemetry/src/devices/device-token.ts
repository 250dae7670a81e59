import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Device tokens are 256 random bits, so they are stored as a SHA-256 digest rather than with a slow
 * password hash: nothing guessable is there for scrypt's cost to protect (2^256 candidates either
 * way), and a slow hash on every MQTT CONNECT would hand anyone who can reach the broker a cheap
 * way to burn CPU. The prefix names the scheme so that it can change later.
 */
const SCHEME = 'sha256:';

/** A new device token: 32 random bytes, base64url (43 characters). */
export function generateDeviceToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashDeviceToken(token: string | Buffer): string {
  return SCHEME + createHash('sha256').update(token).digest('base64url');
}

/** Constant-time comparison of a presented token with a stored hash. */
export function verifyDeviceToken(presented: string | Buffer, stored: string): boolean {
  if (!stored.startsWith(SCHEME)) return false;
  const expected = Buffer.from(stored.slice(SCHEME.length), 'base64url');
  const actual = createHash('sha256').update(presented).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
