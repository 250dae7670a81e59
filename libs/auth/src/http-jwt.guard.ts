import {
  createParamDecorator,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { ErrorCode, type Role } from '#contracts';
import type { Identity } from './identity.js';
import { bearerToken } from './token-extraction.js';
import { TokenError, TokenService } from './token.service.js';

const ROLES_KEY = 'realtime:roles';

/** Restricts an HTTP handler (or controller) to these roles; use with {@link HttpJwtGuard}. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

type AuthenticatedRequest = IncomingMessage & { identity?: Identity };

/** The caller's verified identity, set by {@link HttpJwtGuard}. */
export const CurrentIdentity = createParamDecorator((_data: unknown, context: ExecutionContext): Identity => {
  const identity = context.switchToHttp().getRequest<AuthenticatedRequest>().identity;
  if (!identity) throw new Error('CurrentIdentity used on a route without HttpJwtGuard');
  return identity;
});

/** `Authorization: Bearer` for HTTP routes, through the same {@link TokenService} as the sockets. */
@Injectable()
export class HttpJwtGuard implements CanActivate {
  constructor(
    private readonly tokens: TokenService,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(request.headers);
    if (!token) throw new UnauthorizedException({ statusCode: 401, code: ErrorCode.TOKEN_MISSING, message: 'Authorization: Bearer <token> is required' });
    try {
      request.identity = this.tokens.verify(token);
    } catch (error) {
      if (error instanceof TokenError) throw new UnauthorizedException({ statusCode: 401, code: error.code, message: error.message });
      throw error;
    }
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (roles && !roles.includes(request.identity.role)) {
      throw new ForbiddenException({ statusCode: 403, code: ErrorCode.FORBIDDEN, message: `Requires role ${roles.join(' or ')}` });
    }
    return true;
  }
}
