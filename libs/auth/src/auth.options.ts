import type { ModuleMetadata } from '@nestjs/common';
import type { JwtModuleOptions } from '@nestjs/jwt';
import type { KeyObject } from 'node:crypto';

export interface JwtOptions {
  /** HS256 key (a string, bytes, or a secret KeyObject). Unset: HS256 tokens are refused (only `publicKey` tokens are accepted). */
  secret?: string | Buffer | KeyObject;
  /** PEM or a KeyObject, RSA or EC P-256. When set, RS256 (RSA) or ES256 (EC) tokens are verified with it. */
  publicKey?: string | Buffer | KeyObject;
  /** Checked when set. */
  issuer?: string;
  /** Checked when set. */
  audience?: string;
}

export interface AuthModuleOptions {
  /**
   * The JWT setup: {@link JwtOptions}, or the `JwtModuleOptions` the app already passes to
   * `JwtModule.register` (its `secret`, `publicKey` and `verifyOptions` issuer, audience,
   * algorithms, clockTolerance, maxAge are used). Keys are built once, at start-up.
   */
  jwt: JwtOptions | JwtModuleOptions;
}

export interface AuthModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: any[]) => AuthModuleOptions | Promise<AuthModuleOptions>;
  inject?: any[];
}
