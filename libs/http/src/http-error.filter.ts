import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter, type INestApplication } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ErrorCode, type HttpErrorBody } from '#contracts';
import { ApiError, httpErrorBody } from './api-error.js';

/** The code an HTTP status means when the exception does not name one. */
const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: ErrorCode.BAD_REQUEST,
  [HttpStatus.UNAUTHORIZED]: ErrorCode.TOKEN_INVALID,
  [HttpStatus.FORBIDDEN]: ErrorCode.FORBIDDEN,
  [HttpStatus.NOT_FOUND]: ErrorCode.NOT_FOUND,
  [HttpStatus.CONFLICT]: ErrorCode.CONFLICT,
  [HttpStatus.PAYLOAD_TOO_LARGE]: ErrorCode.PAYLOAD_TOO_LARGE,
  [HttpStatus.TOO_MANY_REQUESTS]: ErrorCode.RATE_LIMITED,
};

const ERROR_CODES = new Set<unknown>(Object.values(ErrorCode));

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string');
}

/**
 * What the client gets for `exception`: always `{ statusCode, code, message, details? }` with the
 * code's fixed message. Nothing from the exception's own text reaches the client except
 * class-validator's field errors (ValidationPipe's `message` array), which name fields only.
 * `internal` is set when the cause is a server fault that must be logged.
 */
export function toHttpError(exception: unknown): { body: HttpErrorBody; internal: boolean } {
  if (exception instanceof ApiError)
    return { body: httpErrorBody(exception.getStatus(), exception.code, exception.details), internal: exception.getStatus() >= 500 };
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status >= 500) return { body: httpErrorBody(status, ErrorCode.INTERNAL_ERROR), internal: true };
    const response = exception.getResponse();
    const fields = typeof response === 'object' && response !== null ? (response as { code?: unknown; message?: unknown }) : {};
    // ValidationPipe (the app's, or a host app's default one) throws a 400 whose message lists the field errors.
    if (status === HttpStatus.BAD_REQUEST && isStringArray(fields.message))
      return { body: httpErrorBody(status, ErrorCode.VALIDATION_FAILED, fields.message), internal: false };
    const code = ERROR_CODES.has(fields.code) ? (fields.code as ErrorCode) : (CODE_BY_STATUS[status] ?? ErrorCode.BAD_REQUEST);
    return { body: httpErrorBody(status, code), internal: false };
  }
  return { body: httpErrorBody(HttpStatus.INTERNAL_SERVER_ERROR, ErrorCode.INTERNAL_ERROR), internal: true };
}

/**
 * The one global HTTP exception filter (CONTRACT.md §13): every HTTP error, from a handler, a guard,
 * a pipe, the body parser or the router's not-found handler, gets the fixed body of its code.
 * Unexpected errors answer 500 INTERNAL_ERROR and are logged here, never sent.
 * Socket.IO handlers have their own filter; Nest does not apply global filters to gateways.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpErrorFilter.name);

  /** `onRefusal`: called for every 4xx answered (e.g. to count it). */
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly onRefusal?: HttpRefusalListener,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') {
      this.logger.error(`Non-HTTP exception reached the HTTP filter: ${describe(exception)}`);
      return;
    }
    const { body, internal } = toHttpError(exception);
    if (internal) this.logger.error(describe(exception));
    else if (body.statusCode < 500) this.onRefusal?.(body.statusCode, body.code);
    const { httpAdapter } = this.adapterHost;
    const response: unknown = host.switchToHttp().getResponse();
    // A streaming handler may fail after its headers went out: all that is left is to end the response.
    if (httpAdapter.isHeadersSent(response)) httpAdapter.end(response);
    else httpAdapter.reply(response, body, body.statusCode);
  }
}

function describe(exception: unknown): string {
  if (exception instanceof Error) {
    const cause = exception.cause instanceof Error ? `\ncaused by: ${exception.cause.stack ?? exception.cause.message}` : '';
    return `${exception.stack ?? exception.message}${cause}`;
  }
  return String(exception);
}

/** Told of each HTTP refusal: its status and code (never anything the client sent). */
export type HttpRefusalListener = (status: number, code: ErrorCode) => void;

/** Installs {@link HttpErrorFilter} as the app's global filter; call it before `listen()`. */
export function useHttpErrorFilter(app: INestApplication, onRefusal?: HttpRefusalListener): void {
  app.useGlobalFilters(new HttpErrorFilter(app.get(HttpAdapterHost), onRefusal));
}
