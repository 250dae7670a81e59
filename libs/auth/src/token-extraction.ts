import type { IncomingHttpHeaders } from 'node:http';

/** The token of an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Socket.IO handshake: `auth.token`, then `Authorization: Bearer`, then query `token`. */
export function socketIoToken(handshake: { auth: Record<string, unknown>; headers: IncomingHttpHeaders; query: Record<string, unknown> }): string | undefined {
  return nonEmptyString(handshake.auth?.['token']) ?? bearerToken(handshake.headers) ?? nonEmptyString(handshake.query?.['token']);
}
