import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import jwt from 'jsonwebtoken';
import { ErrorCode, isRole, type AuthErrorCode } from '#contracts';
import { AUTH_OPTIONS, type AuthModuleOptions, type JwtOptions } from './auth.options.js';
import type { Identity } from './identity.js';

export class TokenError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

export interface TokenClaims {
  sub: string;
  role?: string;
  email?: string;
  name?: string;
}

type AsymmetricAlgorithm = 'RS256' | 'ES256';

/**
 * The one token verifier: the Socket.IO handshake, `WsJwtGuard`, the plain WebSocket upgrade and
 * HTTP all go through it. Keys are built once as KeyObjects (a string secret is re-imported on
 * every verify, ~35x slower), and each algorithm is pinned to its own key so a public key can
 * never be used as an HMAC secret.
 */
@Injectable()
export class TokenService {
  private readonly hmacKey: KeyObject | null;
  private readonly publicKey: KeyObject | null;
  private readonly publicAlgorithm: AsymmetricAlgorithm | null;
  private readonly issuer: string | undefined;
  private readonly audience: string | undefined;

  constructor(@Inject(AUTH_OPTIONS) options: AuthModuleOptions) {
    const { secret, publicKey, issuer, audience }: JwtOptions = options.jwt;
    this.hmacKey = secret ? createSecretKey(Buffer.from(secret, 'utf8')) : null;
    this.publicKey = publicKey ? createPublicKey(publicKey) : null;
    this.publicAlgorithm = this.publicKey ? algorithmFor(this.publicKey) : null;
    this.issuer = issuer || undefined;
    this.audience = audience || undefined;
    if (!this.hmacKey && !this.publicKey) throw new Error('TokenService needs jwt.secret or jwt.publicKey');
  }

  /** Verifies signature, expiry, not-before, issuer and audience; throws {@link TokenError}. */
  verify(token: string): Identity {
    const key = this.keyFor(readAlgorithm(token));
    let claims: jwt.JwtPayload;
    try {
      const decoded = jwt.verify(token, key.key, { algorithms: [key.algorithm], issuer: this.issuer, audience: this.audience });
      if (typeof decoded === 'string') throw new TokenError(ErrorCode.TOKEN_INVALID, 'Token payload is not a JSON object');
      claims = decoded;
    } catch (error) {
      if (error instanceof TokenError) throw error;
      if (error instanceof jwt.TokenExpiredError) throw new TokenError(ErrorCode.TOKEN_EXPIRED, 'Token has expired');
      if (error instanceof jwt.NotBeforeError) throw new TokenError(ErrorCode.TOKEN_INVALID, 'Token is not valid yet');
      throw new TokenError(ErrorCode.TOKEN_INVALID, `Token rejected: ${(error as Error).message}`);
    }
    return toIdentity(claims);
  }

  /** Throws {@link TokenError} unless `identity` came from a verified token that has not expired. */
  assertCurrent(identity: Identity | undefined, now = Date.now()): asserts identity is Identity {
    if (!identity) throw new TokenError(ErrorCode.TOKEN_MISSING, 'Not authenticated');
    if (identity.expiresAt !== null && identity.expiresAt <= now) throw new TokenError(ErrorCode.TOKEN_EXPIRED, 'Token has expired');
  }

  /** Signs an HS256 token (dev tokens and tests). */
  sign(claims: TokenClaims, expiresInSeconds: number): string {
    if (!this.hmacKey) throw new Error('No HS256 secret is configured, so this gateway cannot sign tokens');
    const options: jwt.SignOptions = { algorithm: 'HS256', expiresIn: expiresInSeconds };
    // jsonwebtoken rejects `issuer: undefined`, so only set what is configured.
    if (this.issuer) options.issuer = this.issuer;
    if (this.audience) options.audience = this.audience;
    return jwt.sign({ ...claims }, this.hmacKey, options);
  }

  private keyFor(algorithm: string | undefined): { key: KeyObject; algorithm: jwt.Algorithm } {
    if (algorithm === 'HS256' && this.hmacKey) return { key: this.hmacKey, algorithm };
    if (algorithm && algorithm === this.publicAlgorithm && this.publicKey) return { key: this.publicKey, algorithm };
    throw new TokenError(ErrorCode.TOKEN_INVALID, `Token algorithm ${algorithm ?? '(none)'} is not accepted`);
  }
}

function algorithmFor(key: KeyObject): AsymmetricAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`JWT public key must be RSA or EC P-256, got ${key.asymmetricKeyType}`);
}

/** Reads `alg` from the JOSE header without trusting anything else in it. */
function readAlgorithm(token: string): string | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) throw new TokenError(ErrorCode.TOKEN_INVALID, 'Token is not a JWT');
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'));
    const alg = (header as { alg?: unknown } | null)?.alg;
    return typeof alg === 'string' ? alg : undefined;
  } catch {
    throw new TokenError(ErrorCode.TOKEN_INVALID, 'Token header is not valid JSON');
  }
}

function toIdentity(claims: jwt.JwtPayload): Identity {
  const rawId = claims.sub ?? claims['userId'] ?? claims['id'];
  const userId = typeof rawId === 'number' ? String(rawId) : rawId;
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new TokenError(ErrorCode.TOKEN_INVALID, 'Token carries no user id (sub, userId or id)');
  }
  const role = claims['role'];
  const email = claims['email'];
  const name = claims['name'];
  return {
    userId,
    role: isRole(role) ? role : 'user',
    ...(typeof email === 'string' ? { email } : {}),
    ...(typeof name === 'string' ? { name } : {}),
    expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
  };
}
