import { createSecretKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { describe, expect, it, jest } from '@jest/globals';
import { JwtService, type JwtModuleOptions } from '@nestjs/jwt';
import jwt from 'jsonwebtoken';
import type { JwtOptions } from './auth.options.js';
import { jwtModuleOptions } from './jwt-keys.js';
import { TokenError, TokenService } from './token.service.js';

const SECRET = 'unit-test-secret-that-is-long-enough-000';
const sut = (jwtOptions: JwtOptions | JwtModuleOptions = { secret: SECRET }) => new TokenService(new JwtService(jwtModuleOptions(jwtOptions)));
const hs = (claims: object, options: jwt.SignOptions = {}, key: jwt.Secret = SECRET) => jwt.sign(claims, key, { algorithm: 'HS256', ...options });

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof TokenError) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('TokenService', () => {
  it('maps claims to an identity', () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(sut().verify(hs({ sub: 'u1', role: 'admin', email: 'a@b.c', name: 'Ann', exp }))).toEqual({
      userId: 'u1',
      role: 'admin',
      email: 'a@b.c',
      name: 'Ann',
      expiresAt: exp * 1000,
    });
  });

  it.each([
    [{ sub: 'from-sub', userId: 'x', id: 'y' }, 'from-sub'],
    [{ userId: 'from-userId', id: 'y' }, 'from-userId'],
    [{ id: 'from-id' }, 'from-id'],
    [{ id: 7 }, '7'],
  ])('takes the user id from sub, userId, id: %j', (claims, expected) => {
    expect(sut().verify(hs(claims)).userId).toBe(expected);
  });

  it('reads unknown or missing roles as user and a missing exp as no expiry', () => {
    expect(sut().verify(hs({ sub: 'u', role: 'root' }))).toEqual({ userId: 'u', role: 'user', expiresAt: null });
  });

  it.each([
    ['alg none', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`, 'TOKEN_INVALID'],
    ['a wrong secret', hs({ sub: 'x' }, {}, 'another-secret-another-secret-0000'), 'TOKEN_INVALID'],
    ['expired', hs({ sub: 'x', exp: Math.floor(Date.now() / 1000) - 1 }), 'TOKEN_EXPIRED'],
    ['not yet valid', hs({ sub: 'x' }, { notBefore: 60 }), 'TOKEN_INVALID'],
    ['no user id', hs({ role: 'admin' }), 'TOKEN_INVALID'],
    ['an empty user id', hs({ sub: '' }), 'TOKEN_INVALID'],
    ['HS512', jwt.sign({ sub: 'x' }, SECRET, { algorithm: 'HS512' }), 'TOKEN_INVALID'],
    ['not a JWT', 'abc', 'TOKEN_INVALID'],
    ['a header that is not JSON', 'bm90IGpzb24.e30.sig', 'TOKEN_INVALID'],
    ['a string payload', jwt.sign('just a string', SECRET, { algorithm: 'HS256' }), 'TOKEN_INVALID'],
  ])('refuses %s', (_case, token, code) => {
    expect(codeOf(() => sut().verify(token))).toBe(code);
  });

  it('checks issuer and audience when configured', () => {
    const service = sut({ secret: SECRET, issuer: 'idp', audience: 'gw' });
    expect(codeOf(() => service.verify(hs({ sub: 'x' }, { issuer: 'idp', audience: 'gw' })))).toBe('accepted');
    expect(codeOf(() => service.verify(hs({ sub: 'x' }, { issuer: 'other', audience: 'gw' })))).toBe('TOKEN_INVALID');
    expect(codeOf(() => service.verify(hs({ sub: 'x' }, { issuer: 'idp', audience: 'other' })))).toBe('TOKEN_INVALID');
    expect(codeOf(() => service.verify(hs({ sub: 'x' })))).toBe('TOKEN_INVALID');
    // Its own tokens carry the configured issuer and audience.
    expect(service.verify(service.sign({ sub: 'me' }, 60)).userId).toBe('me');
  });

  it('pins RS256 to the public key and never uses the public key as an HMAC secret', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const service = sut({ publicKey: pem });
    expect(service.verify(jwt.sign({ sub: 'rsa-user' }, privateKey, { algorithm: 'RS256' })).userId).toBe('rsa-user');
    expect(codeOf(() => service.verify(hs({ sub: 'x' }, {}, pem)))).toBe('TOKEN_INVALID');
    expect(codeOf(() => service.verify(jwt.sign({ sub: 'x' }, privateKey, { algorithm: 'RS512' })))).toBe('TOKEN_INVALID');
    expect(() => service.sign({ sub: 'x' }, 60)).toThrow(/cannot sign/);
  });

  it('accepts ES256 with an EC P-256 key', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const service = sut({ publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    expect(service.verify(jwt.sign({ sub: 'ec-user' }, privateKey, { algorithm: 'ES256' })).userId).toBe('ec-user');
  });

  it('assertCurrent refuses a missing or expired identity', () => {
    const service = sut();
    expect(codeOf(() => service.assertCurrent(undefined))).toBe('TOKEN_MISSING');
    expect(codeOf(() => service.assertCurrent({ userId: 'u', role: 'user', expiresAt: 1000 }, 1000))).toBe('TOKEN_EXPIRED');
    expect(codeOf(() => service.assertCurrent({ userId: 'u', role: 'user', expiresAt: 1001 }, 1000))).toBe('accepted');
    expect(codeOf(() => service.assertCurrent({ userId: 'u', role: 'user', expiresAt: null }, 1000))).toBe('accepted');
  });

  it('says only the fixed message of its code; the reason (library text, expected audience) is for logs', () => {
    const service = sut({ secret: SECRET, issuer: 'idp', audience: 'secret-audience' });
    let refused: unknown;
    try {
      service.verify(hs({ sub: 'x', email: 'who@example.com' }, { issuer: 'idp', audience: 'other' }));
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(TokenError);
    expect((refused as TokenError).message).toBe('The token is not valid');
    expect((refused as TokenError).reason).toContain('audience');
  });

  it('verifies through JwtService with the prebuilt KeyObject, handed to jsonwebtoken untouched', () => {
    const options = jwtModuleOptions({ secret: SECRET });
    const spy = jest.spyOn(jwt, 'verify');
    try {
      const service = new TokenService(new JwtService(options));
      service.verify(hs({ sub: 'a' }));
      service.verify(hs({ sub: 'b' }));
      expect(spy).toHaveBeenCalledTimes(2);
      const [first, second] = spy.mock.calls.map((call) => call[1]);
      expect(first).toBeInstanceOf(KeyObject);
      expect(second).toBe(first);
      expect(spy.mock.calls[0]![2]).toMatchObject({ algorithms: ['HS256'] });
    } finally {
      spy.mockRestore();
    }
  });

  it('takes the JwtModuleOptions an app already has: secret, verifyOptions issuer and audience', () => {
    const service = sut({ secret: SECRET, signOptions: { expiresIn: 60 }, verifyOptions: { issuer: 'idp', audience: 'gw' } });
    expect(codeOf(() => service.verify(hs({ sub: 'x' }, { issuer: 'idp', audience: 'gw' })))).toBe('accepted');
    expect(codeOf(() => service.verify(hs({ sub: 'x' }, { issuer: 'idp', audience: 'other' })))).toBe('TOKEN_INVALID');
    expect(codeOf(() => service.verify(hs({ sub: 'x' }, { audience: 'gw' })))).toBe('TOKEN_INVALID');
    // A KeyObject secret works as well.
    expect(sut({ secret: createSecretKey(Buffer.from(SECRET)) }).verify(hs({ sub: 'k' })).userId).toBe('k');
  });

  it('lets verifyOptions.algorithms narrow the accepted algorithms, never widen them', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const service = sut({ secret: SECRET, publicKey, verifyOptions: { algorithms: ['ES256', 'HS512', 'none'] } });
    expect(service.verify(jwt.sign({ sub: 'ec' }, privateKey, { algorithm: 'ES256' })).userId).toBe('ec');
    expect(codeOf(() => service.verify(hs({ sub: 'x' })))).toBe('TOKEN_INVALID');
    expect(codeOf(() => service.verify(jwt.sign({ sub: 'x' }, SECRET, { algorithm: 'HS512' })))).toBe('TOKEN_INVALID');
    expect(() => jwtModuleOptions({ secret: SECRET, verifyOptions: { algorithms: ['RS256'] } })).toThrow(/needs jwt.secret or jwt.publicKey/);
  });

  it.each([
    ['no key at all', {}, /needs jwt.secret or jwt.publicKey/],
    ['a key provider (keys could not be built once)', { secretOrKeyProvider: () => SECRET }, /not secretOrKeyProvider/],
    ['a public key given as the secret', { secret: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey }, /must be a secret key/],
    ['an EC key on another curve', { publicKey: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey }, /RSA or EC P-256/],
  ])('refuses a setup with %s at start-up', (_case, setup, message) => {
    expect(() => jwtModuleOptions(setup as JwtModuleOptions)).toThrow(message);
  });
});
