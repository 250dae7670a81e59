/** Every `code` the gateway puts in a `connect_error`, an ack or an `error` event. */
export const ErrorCode = {
  TOKEN_MISSING: 'TOKEN_MISSING',
  TOKEN_INVALID: 'TOKEN_INVALID',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  SERVER_FULL: 'SERVER_FULL',
  TOO_MANY_CONNECTIONS: 'TOO_MANY_CONNECTIONS',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  UNKNOWN_TOPIC: 'UNKNOWN_TOPIC',
  FORBIDDEN: 'FORBIDDEN',
  TOO_MANY_TOPICS: 'TOO_MANY_TOPICS',
  RATE_LIMITED: 'RATE_LIMITED',
  NOT_FOUND: 'NOT_FOUND',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Handshake refusals that mean "get a new token": `connect_error.message === 'Unauthorized'`. */
export const AUTH_ERROR_CODES = [ErrorCode.TOKEN_MISSING, ErrorCode.TOKEN_INVALID, ErrorCode.TOKEN_EXPIRED] as const;
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** Field errors for VALIDATION_FAILED. */
  details?: string[];
}

/** `connect_error.data` for every refused handshake. */
export interface ConnectErrorData {
  code: ErrorCode;
}
