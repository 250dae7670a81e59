import type { NestExpressApplication } from '@nestjs/platform-express';
import { ErrorCode, MAX_JSON_DEPTH, valueTooDeep } from '#contracts';
import { ApiError } from './api-error.js';

type Next = (error?: unknown) => void;

/**
 * Express middleware: a parsed body nested more than `max` levels is refused with 400
 * `VALIDATION_FAILED` before any pipe sees it (class-transformer recurses once per level and
 * overflows the stack on a 15 KB body nested 3,000 deep). The walk is iterative and stops at the
 * first level too deep, so it costs at most the body's size, which the parser already bounds.
 */
export function refuseDeepBodies(max = MAX_JSON_DEPTH): (request: { body?: unknown }, response: unknown, next: Next) => void {
  const refusal = `the body nests deeper than ${max} levels`;
  return (request, _response, next) => next(valueTooDeep(request.body, max) ? new ApiError(ErrorCode.VALIDATION_FAILED, 400, [refusal]) : undefined);
}

/**
 * Installs Nest's JSON and urlencoded body parsers now (same options Nest would use at `init()`),
 * then {@link refuseDeepBodies} right after them. Call before `app.init()`/`listen()`.
 */
export function useBodyDepthLimit(app: NestExpressApplication, max = MAX_JSON_DEPTH): void {
  // Registered here rather than at init, so that the check below runs after them; Nest then skips its own.
  app.useBodyParser('json');
  app.useBodyParser('urlencoded', { extended: true });
  app.use(refuseDeepBodies(max));
}
