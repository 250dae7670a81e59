import { afterEach, describe, expect, it, jest } from '@jest/globals';
import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
  UnauthorizedException,
  type ArgumentsHost,
} from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { ErrorCode, ERROR_MESSAGES } from '#contracts';
import { ApiError } from './api-error.js';
import { HttpErrorFilter, toHttpError } from './http-error.filter.js';

const fixed = (statusCode: number, code: ErrorCode) => ({ statusCode, code, message: ERROR_MESSAGES[code] });

describe('toHttpError', () => {
  it.each([
    ['an ApiError', new ApiError(ErrorCode.NOT_FOUND, 404), fixed(404, ErrorCode.NOT_FOUND)],
    [
      'an ApiError with field errors',
      new ApiError(ErrorCode.VALIDATION_FAILED, 400, ['ts must be a number']),
      { ...fixed(400, ErrorCode.VALIDATION_FAILED), details: ['ts must be a number'] },
    ],
    [
      'ValidationPipe’s 400',
      new BadRequestException(['name must be a string', 'property x should not exist']),
      { ...fixed(400, ErrorCode.VALIDATION_FAILED), details: ['name must be a string', 'property x should not exist'] },
    ],
    ['a 400 with a message of its own', new BadRequestException('Unexpected token s in JSON at position 7'), fixed(400, ErrorCode.BAD_REQUEST)],
    [
      'a body built by hand, with a code',
      new ForbiddenException({ statusCode: 403, code: 'FORBIDDEN', message: 'Requires role admin' }),
      fixed(403, ErrorCode.FORBIDDEN),
    ],
    [
      'a library 401 echoing the audience',
      new UnauthorizedException({ code: 'TOKEN_EXPIRED', message: 'jwt audience invalid. expected: internal-aud' }),
      fixed(401, ErrorCode.TOKEN_EXPIRED),
    ],
    ['an unknown code', new UnauthorizedException({ code: 'SOMETHING_ELSE', message: 'x' }), fixed(401, ErrorCode.TOKEN_INVALID)],
    ['the router’s not found', new NotFoundException('Cannot GET /secret-path'), fixed(404, ErrorCode.NOT_FOUND)],
    ['a body-parser 413', new HttpException('request entity too large', 413), fixed(413, ErrorCode.PAYLOAD_TOO_LARGE)],
    ['a 415', new HttpException('unsupported charset "X"', 415), fixed(415, ErrorCode.BAD_REQUEST)],
  ])('maps %s to the fixed body of its code', (_case, exception, body) => {
    expect(toHttpError(exception)).toEqual({ body, internal: false });
  });

  it.each([
    ['a plain Error', new Error('connect ECONNREFUSED postgres://app:hunter2@10.0.0.7/db'), 500],
    ['a thrown string', 'hunter2', 500],
    ['a 5xx HttpException', new ServiceUnavailableException('redis at 10.0.0.7 down'), 503],
  ])('answers %s with INTERNAL_ERROR and nothing from it, flagged for the log', (_case, exception, status) => {
    const result = toHttpError(exception);
    expect(result).toEqual({ body: fixed(status, ErrorCode.INTERNAL_ERROR), internal: true });
    expect(JSON.stringify(result.body)).not.toMatch(/hunter2|10\.0\.0\.7/);
  });
});

describe('HttpErrorFilter', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  function sut(headersSent = false) {
    const adapter = { isHeadersSent: jest.fn(() => headersSent), reply: jest.fn(), end: jest.fn() };
    const response = {};
    const host = { getType: () => 'http', switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
    return { filter: new HttpErrorFilter({ httpAdapter: adapter } as unknown as HttpAdapterHost), adapter, response, host };
  }

  it('replies with the body and status, and logs an unexpected error server-side', () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { filter, adapter, response, host } = sut();
    filter.catch(new Error('password=hunter2'), host);
    expect(adapter.reply).toHaveBeenCalledWith(response, fixed(500, ErrorCode.INTERNAL_ERROR), 500);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(String(logged.mock.calls[0]![0])).toContain('password=hunter2');
  });

  it('does not log a refusal', () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { filter, adapter, response, host } = sut();
    filter.catch(new ApiError(ErrorCode.FORBIDDEN, 403), host);
    expect(adapter.reply).toHaveBeenCalledWith(response, fixed(403, ErrorCode.FORBIDDEN), 403);
    expect(logged).not.toHaveBeenCalled();
  });

  it('tells its listener of every 4xx with status and code, and of no server fault', () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { adapter, host } = sut();
    const refusals: [number, string][] = [];
    const filter = new HttpErrorFilter({ httpAdapter: adapter } as unknown as HttpAdapterHost, (status, code) => refusals.push([status, code]));
    filter.catch(new ApiError(ErrorCode.FORBIDDEN, 403), host);
    filter.catch(new BadRequestException(['name must be a string']), host);
    filter.catch(new NotFoundException('Cannot GET /x'), host);
    filter.catch(new Error('boom'), host);
    filter.catch(new ServiceUnavailableException(), host);
    expect(refusals).toEqual([
      [403, ErrorCode.FORBIDDEN],
      [400, ErrorCode.VALIDATION_FAILED],
      [404, ErrorCode.NOT_FOUND],
    ]);
  });

  it('ends a response whose headers already went out', () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { filter, adapter, response, host } = sut(true);
    filter.catch(new Error('mid-stream'), host);
    expect(adapter.reply).not.toHaveBeenCalled();
    expect(adapter.end).toHaveBeenCalledWith(response);
  });
});
