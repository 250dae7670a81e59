import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode } from '#contracts';
import type { HttpRefusalListener } from './http-error.filter.js';

/** What Node answers for each parser error (its own defaults): 431 for headers over the limit, 408 for a request too slow, else 400. */
export function clientErrorStatus(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/**
 * Requests Node's HTTP parser refuses (a malformed request line or header, headers over the limit)
 * never reach Express or the exception filter. This answers them as Node does by default (a bare
 * status line, then close) and tells `onRefusal`, so they are counted. A reset by the client is no
 * refusal: that socket is only destroyed.
 */
export function answerClientErrors(server: Server, onRefusal: HttpRefusalListener): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const status = clientErrorStatus(error.code);
    onRefusal(status, ErrorCode.BAD_REQUEST);
    // Only when nothing was answered on this connection yet (a response may be under way), as Node does.
    if (socket.bytesWritten === 0) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
    socket.destroy();
  });
}
