import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { JwtSecretRequestType, type JwtModuleOptions } from '@nestjs/jwt';
import type { Algorithm, SignOptions, VerifyOptions } from 'jsonwebtoken';
import { ErrorCode } from '#contracts';
import type { JwtOptions } from './auth.options.js';
import { TokenError } from './token-error.js';

type AsymmetricAlgorithm = 'RS256' | 'ES256';

/**
 * Turns the app's JWT setup into `JwtModule` options whose keys are KeyObjects built here, once:
 * jsonwebtoken re-imports a string secret on every verify (~35x slower). `JwtService` hands the
 * provider's KeyObject to jsonwebtoken untouched (checked in token.service.spec.ts).
 *
 * Each algorithm is pinned to its own key: the caller names exactly one algorithm per verify (the
 * token's, see TokenService) and the provider returns the key for that algorithm or refuses, so a
 * public key is never used as an HMAC secret and `none` never has a key.
 */
export function jwtModuleOptions(setup: JwtOptions | JwtModuleOptions): JwtModuleOptions {
  if ('secretOrKeyProvider' in setup && setup.secretOrKeyProvider) {
    throw new Error('AuthModule builds its keys once: give jwt.secret and/or jwt.publicKey, not secretOrKeyProvider');
  }
  if ('secretOrPrivateKey' in setup && setup.secretOrPrivateKey) throw new Error('AuthModule: secretOrPrivateKey is deprecated by @nestjs/jwt; use jwt.secret');
  const verify: VerifyOptions = ('verifyOptions' in setup ? setup.verifyOptions : undefined) ?? {};
  const issuer = ('issuer' in setup ? setup.issuer : undefined) || verify.issuer || undefined;
  const audience = ('audience' in setup ? setup.audience : undefined) || verify.audience || undefined;

  const hmacKey = setup.secret ? secretKey(setup.secret) : null;
  const publicKey = setup.publicKey ? verifyingKey(setup.publicKey) : null;
  const publicAlgorithm = publicKey ? algorithmFor(publicKey) : null;
  const keys = new Map<Algorithm, KeyObject>();
  if (hmacKey) keys.set('HS256', hmacKey);
  if (publicKey && publicAlgorithm) keys.set(publicAlgorithm, publicKey);
  // The app may narrow the algorithms (verifyOptions.algorithms), never widen them.
  if (verify.algorithms) for (const algorithm of [...keys.keys()]) if (!verify.algorithms.includes(algorithm)) keys.delete(algorithm);
  if (keys.size === 0) throw new Error('AuthModule needs jwt.secret or jwt.publicKey (and verifyOptions.algorithms, if set, must allow HS256, RS256 or ES256)');

  const signOptions: SignOptions = { algorithm: 'HS256' };
  // jsonwebtoken rejects `issuer: undefined`, so only set what is configured; a list cannot be signed, only checked.
  if (typeof issuer === 'string') signOptions.issuer = issuer;
  if (typeof audience === 'string') signOptions.audience = audience;
  return {
    secretOrKeyProvider: (requestType, _tokenOrPayload, options) => {
      if (requestType === JwtSecretRequestType.SIGN) {
        if (!hmacKey) throw new Error('No HS256 secret is configured, so this gateway cannot sign tokens');
        return hmacKey;
      }
      const algorithms = (options as VerifyOptions | undefined)?.algorithms;
      const key = algorithms?.length === 1 ? keys.get(algorithms[0]!) : undefined;
      if (!key) throw new TokenError(ErrorCode.TOKEN_INVALID, `Token algorithm ${algorithms?.join(',') ?? '(none)'} is not accepted`);
      return key;
    },
    verifyOptions: {
      algorithms: [...keys.keys()],
      ...(issuer ? { issuer } : {}),
      ...(audience ? { audience } : {}),
      ...(verify.clockTolerance !== undefined ? { clockTolerance: verify.clockTolerance } : {}),
      ...(verify.maxAge !== undefined ? { maxAge: verify.maxAge } : {}),
    },
    signOptions,
  };
}

function secretKey(secret: NonNullable<JwtModuleOptions['secret']>): KeyObject {
  if (secret instanceof KeyObject) {
    if (secret.type !== 'secret') throw new Error(`jwt.secret must be a secret key, got a ${secret.type} key (use jwt.publicKey)`);
    return secret;
  }
  if (typeof secret === 'string' || Buffer.isBuffer(secret)) return createSecretKey(Buffer.from(secret));
  throw new Error('jwt.secret must be a string, a Buffer or a secret KeyObject');
}

function verifyingKey(key: NonNullable<JwtModuleOptions['publicKey']>): KeyObject {
  if (key instanceof KeyObject) {
    if (key.type === 'secret') throw new Error('jwt.publicKey must be an RSA or EC public key, got a secret key (use jwt.secret)');
    return key.type === 'private' ? createPublicKey(key) : key;
  }
  if (typeof key === 'string' || Buffer.isBuffer(key)) return createPublicKey(key);
  throw new Error('jwt.publicKey must be a PEM string, a Buffer or a KeyObject');
}

function algorithmFor(key: KeyObject): AsymmetricAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`JWT public key must be RSA or EC P-256, got ${key.asymmetricKeyType}`);
}
