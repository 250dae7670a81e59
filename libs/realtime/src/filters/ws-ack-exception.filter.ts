import { BadRequestException, Catch, Logger, type ArgumentsHost, type WsExceptionFilter } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { ErrorCode, type ErrorBody } from '#contracts';
import { replyError } from '../gateway/reply-error.js';
import type { GatewaySocket } from '../gateway/socket.types.js';

/**
 * Turns every failure of a message handler into the contract's `{ ok: false, error }` ack.
 */
@Catch()
export class WsAckExceptionFilter implements WsExceptionFilter {
  private readonly logger = new Logger(WsAckExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    // Socket.IO message handlers are called as (socket, data, ack?, pattern).
    const [socket, , ack] = host.getArgs<[GatewaySocket, unknown, unknown]>();
    replyError(socket, ack, this.toErrorBody(exception));
  }

  private toErrorBody(exception: unknown): ErrorBody {
    if (exception instanceof WsException) {
      const body = exception.getError();
      if (isErrorBody(body)) return body;
      return { code: ErrorCode.VALIDATION_FAILED, message: String(body) };
    }
    // A host app's global ValidationPipe runs before ours and throws the HTTP flavour.
    if (exception instanceof BadRequestException) {
      const response = exception.getResponse() as { message?: unknown };
      const details = Array.isArray(response.message) ? response.message.map(String) : [exception.message];
      return { code: ErrorCode.VALIDATION_FAILED, message: details.join('; '), details };
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return { code: ErrorCode.INTERNAL_ERROR, message: 'Internal error' };
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value;
}
