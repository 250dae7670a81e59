import { Injectable } from '@nestjs/common';
import { JwtService, NotBeforeError, TokenExpiredError } from '@nestjs/jwt';
import type { Algorithm } from 'jsonwebtoken';
import { ErrorCode, isRole } from '#contracts';
import type { Identity } from './identity.js';
import { TokenError } from './token-error.js';

export { TokenError } from './token-error.js';

export interface TokenClaims {
  sub: string;
  role?: string;
  email?: string;
  name?: string;
}

/**
 * The one token verifier: the Socket.IO handshake, `WsJwtGuard`, the plain WebSocket upgrade and
 * HTTP all go through it. Verification runs through `@nestjs/jwt`'s `JwtService`, configured by
 * `AuthModule` with keys built once as KeyObjects (a string secret is re-imported on every verify,
 * ~35x slower) and each algorithm pinned to its own key (see jwt-keys.ts).
 */
@Injectable()
export class TokenService {
  constructor(private readonly jwt: JwtService) {}

  /** Verifies signature, expiry, not-before, issuer and audience; throws {@link TokenError}. */
  verify(token: string): Identity {
    // Exactly the token's algorithm: the key provider answers with that algorithm's key, or refuses.
    const algorithms = [readAlgorithm(token) as Algorithm];
    let claims: unknown;
    try {
      claims = this.jwt.verify<object>(token, { algorithms });
    } catch (error) {
      if (error instanceof TokenError) throw error;
      if (error instanceof TokenExpiredError) throw new TokenError(ErrorCode.TOKEN_EXPIRED, 'Token has expired');
      if (error instanceof NotBeforeError) throw new TokenError(ErrorCode.TOKEN_INVALID, 'Token is not valid yet');
      throw new TokenError(ErrorCode.TOKEN_INVALID, `Token rejected: ${(error as Error).message}`);
    }
    if (typeof claims !== 'object' || claims === null) throw new TokenError(ErrorCode.TOKEN_INVALID, 'Token payload is not a JSON object');
    return toIdentity(claims as Record<string, unknown>);
  }

  /** Throws {@link TokenError} unless `identity` came from a verified token that has not expired. */
  assertCurrent(identity: Identity | undefined, now = Date.now()): asserts identity is Identity {
    if (!identity) throw new TokenError(ErrorCode.TOKEN_MISSING, 'Not authenticated');
    if (identity.expiresAt !== null && identity.expiresAt <= now) throw new TokenError(ErrorCode.TOKEN_EXPIRED, 'Token has expired');
  }

  /** Signs an HS256 token with the configured issuer and audience (dev tokens and tests). */
  sign(claims: TokenClaims, expiresInSeconds: number): string {
    return this.jwt.sign({ ...claims }, { expiresIn: expiresInSeconds });
  }
}

/** Reads `alg` from the JOSE header without trusting anything else in it. */
function readAlgorithm(token: string): string {
  const dot = token.indexOf('.');
  if (dot <= 0) throw new TokenError(ErrorCode.TOKEN_INVALID, 'Token is not a JWT');
  let alg: unknown;
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'));
    alg = (header as { alg?: unknown } | null)?.alg;
  } catch {
    throw new TokenError(ErrorCode.TOKEN_INVALID, 'Token header is not valid JSON');
  }
  if (typeof alg !== 'string') throw new TokenError(ErrorCode.TOKEN_INVALID, 'Token header names no algorithm');
  return alg;
}

function toIdentity(claims: Record<string, unknown>): Identity {
  const rawId = claims['sub'] ?? claims['userId'] ?? claims['id'];
  const userId = typeof rawId === 'number' ? String(rawId) : rawId;
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new TokenError(ErrorCode.TOKEN_INVALID, 'Token carries no user id (sub, userId or id)');
  }
  const { role, email, name, exp } = claims;
  return {
    userId,
    role: isRole(role) ? role : 'user',
    ...(typeof email === 'string' ? { email } : {}),
    ...(typeof name === 'string' ? { name } : {}),
    expiresAt: typeof exp === 'number' ? exp * 1000 : null,
  };
}
