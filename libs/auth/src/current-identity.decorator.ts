import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedRequest, Identity } from './identity.js';

/** The caller's verified identity, set by `HttpJwtGuard`. */
export const CurrentIdentity = createParamDecorator((_data: unknown, context: ExecutionContext): Identity => {
  const identity = context.switchToHttp().getRequest<AuthenticatedRequest>().identity;
  if (!identity) throw new Error('CurrentIdentity used on a route without HttpJwtGuard');
  return identity;
});
