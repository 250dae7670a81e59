import { AUTH_ERROR_CODES, ERROR_MESSAGES, type ErrorBody, type ErrorCode } from '#contracts';
import type { GatewaySocket } from './socket.types.js';

/** A refused client event is answered on its ack when it has one, else with an `error` event. */
export function replyError(socket: GatewaySocket, ack: unknown, error: ErrorBody): void {
  if (typeof ack === 'function') ack({ ok: false, error });
  else socket.emit('error', error);
}

/** The code and its fixed message: never a library's text or anything the client sent. */
export function errorBody(code: ErrorCode): ErrorBody {
  return { code, message: ERROR_MESSAGES[code] };
}

/**
 * What a refused handshake or upgrade says: `Unauthorized` for the token codes (the contract's
 * "get a new token" signal on `connect_error`, and the `/ws` 401 body), else the code's fixed message.
 */
export function refusalMessage(code: ErrorCode): string {
  return (AUTH_ERROR_CODES as readonly ErrorCode[]).includes(code) ? 'Unauthorized' : ERROR_MESSAGES[code];
}
