import type { ModuleMetadata } from '@nestjs/common';

export interface JwtOptions {
  /** HS256 key. Unset: HS256 tokens are refused (only `publicKey` tokens are accepted). */
  secret?: string;
  /** PEM. When set, RS256 and ES256 tokens are verified with it. */
  publicKey?: string;
  /** Checked when set. */
  issuer?: string;
  /** Checked when set. */
  audience?: string;
}

export interface AuthModuleOptions {
  jwt: JwtOptions;
}

export interface AuthModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: any[]) => AuthModuleOptions | Promise<AuthModuleOptions>;
  inject?: any[];
}

export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');
