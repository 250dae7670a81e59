import type { IncomingMessage } from 'node:http';
import type { Role } from '#contracts';

/** Who a socket or request belongs to, taken from a verified token. */
export interface Identity {
  userId: string;
  role: Role;
  email?: string;
  name?: string;
  /** Token expiry in ms since the epoch; null when the token has no `exp`. */
  expiresAt: number | null;
}

/** An HTTP request once `HttpJwtGuard` has let it through. */
export type AuthenticatedRequest = IncomingMessage & { identity?: Identity };
