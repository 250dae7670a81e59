import { SetMetadata } from '@nestjs/common';
import type { Role } from '#contracts';

export const ROLES_KEY = 'realtime:roles';

/** Restricts an HTTP handler (or controller) to these roles; use with `HttpJwtGuard`. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
