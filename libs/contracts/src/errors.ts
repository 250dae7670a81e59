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
  CONFLICT: 'CONFLICT',
  BAD_REQUEST: 'BAD_REQUEST',
  UNKNOWN_EVENT: 'UNKNOWN_EVENT',
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The one message each code carries on refusals (HTTP 401/403, `connect_error`, upgrade answers):
 * fixed text, never a library's message, the configured issuer or audience, or what the client sent.
 * Where a handler has something safe and useful to add (which field failed), it goes in `details`.
 */
export const ERROR_MESSAGES: Record<ErrorCode, string> = {
  TOKEN_MISSING: 'A bearer token is required',
  TOKEN_INVALID: 'The token is not valid',
  TOKEN_EXPIRED: 'The token has expired',
  SERVER_FULL: 'Server full',
  TOO_MANY_CONNECTIONS: 'Too many connections',
  SHUTTING_DOWN: 'Server shutting down',
  VALIDATION_FAILED: 'The request is not valid',
  UNKNOWN_TOPIC: 'Unknown topic',
  FORBIDDEN: 'Not allowed',
  TOO_MANY_TOPICS: 'Too many topics',
  RATE_LIMITED: 'Too many requests',
  NOT_FOUND: 'Not found',
  CONFLICT: 'Already exists',
  BAD_REQUEST: 'Malformed request',
  UNKNOWN_EVENT: 'Unknown event',
  SLOW_CONSUMER: 'Client is not reading fast enough',
  INTERNAL_ERROR: 'Internal error',
  PAYLOAD_TOO_LARGE: 'Payload too large',
};

/** Handshake refusals that mean "get a new token": `connect_error.message === 'Unauthorized'`. */
export const AUTH_ERROR_CODES = [ErrorCode.TOKEN_MISSING, ErrorCode.TOKEN_INVALID, ErrorCode.TOKEN_EXPIRED] as const;
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** Field errors for VALIDATION_FAILED. */
  details?: string[];
}

/** Every HTTP error response (CONTRACT.md §13): `message` is `ERROR_MESSAGES[code]`. */
export interface HttpErrorBody extends ErrorBody {
  statusCode: number;
}

/** `connect_error.data` for every refused handshake. */
export interface ConnectErrorData {
  code: ErrorCode;
}
