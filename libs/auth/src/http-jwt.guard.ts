import { HttpStatus, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ErrorCode, type Role } from '#contracts';
import { ApiError } from '#http';
import type { AuthenticatedRequest } from './identity.js';
import { ROLES_KEY } from './roles.decorator.js';
import { bearerToken } from './token-extraction.js';
import { TokenError, TokenService } from './token.service.js';

/**
 * `Authorization: Bearer` for HTTP routes, through the same {@link TokenService} as the sockets.
 * Refusals carry the code and its fixed message only (CONTRACT.md §13); why is logged at debug.
 */
@Injectable()
export class HttpJwtGuard implements CanActivate {
  private readonly logger = new Logger(HttpJwtGuard.name);

  constructor(
    private readonly tokens: TokenService,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(request.headers);
    if (!token) throw new ApiError(ErrorCode.TOKEN_MISSING, HttpStatus.UNAUTHORIZED);
    try {
      request.identity = this.tokens.verify(token);
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      this.logger.debug({ msg: 'token refused', code: error.code, reason: error.reason });
      throw new ApiError(error.code, HttpStatus.UNAUTHORIZED, undefined, { cause: error });
    }
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (roles && !roles.includes(request.identity.role)) throw new ApiError(ErrorCode.FORBIDDEN, HttpStatus.FORBIDDEN);
    return true;
  }
}
