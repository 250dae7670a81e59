import { ERROR_MESSAGES, type AuthErrorCode } from '#contracts';

/**
 * A refused token. `message` is the code's fixed text, safe to send on any transport; `reason`
 * (the library's text, the expected issuer or audience) is for server logs only.
 */
export class TokenError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    readonly reason: string,
  ) {
    super(ERROR_MESSAGES[code]);
    this.name = 'TokenError';
  }
}
