import type { ErrorBody } from '#contracts';
import type { GatewaySocket } from './socket.types.js';

/** A refused client event is answered on its ack when it has one, else with an `error` event. */
export function replyError(socket: GatewaySocket, ack: unknown, error: ErrorBody): void {
  if (typeof ack === 'function') ack({ ok: false, error });
  else socket.emit('error', error);
}
