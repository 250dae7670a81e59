import { HttpException } from '@nestjs/common';
import { ERROR_MESSAGES, type ErrorCode, type HttpErrorBody } from '#contracts';

/** The one place an HTTP error body is built: the code's fixed message, `details` only when there are some. */
export function httpErrorBody(statusCode: number, code: ErrorCode, details?: string[]): HttpErrorBody {
  return { statusCode, code, message: ERROR_MESSAGES[code], ...(details && details.length > 0 ? { details } : {}) };
}

/**
 * An HTTP refusal with a contract code: `throw new ApiError(ErrorCode.NOT_FOUND, 404)`. The client
 * sees the code's fixed message; `details` (field errors) must name fields, never echo what the
 * client sent or a secret. Anything worth logging goes in `cause`, which never reaches the client.
 */
export class ApiError extends HttpException {
  constructor(
    readonly code: ErrorCode,
    status: number,
    readonly details?: string[],
    options?: { cause?: unknown },
  ) {
    // The body is also the response, so even an app without HttpErrorFilter answers the same shape.
    super(httpErrorBody(status, code, details), status, options);
  }
}
