import type { IncomingHttpHeaders } from 'node:http';

/**
 * The client's address for per-address limits. Behind a trusted proxy it is the right-most
 * `X-Forwarded-For` entry: the one our proxy appended, which the client cannot forge.
 */
export function clientAddress(remoteAddress: string | undefined, headers: IncomingHttpHeaders, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = headers['x-forwarded-for'];
    const list = Array.isArray(forwarded) ? forwarded.join(',') : forwarded;
    const last = list
      ?.split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .at(-1);
    if (last) return last;
  }
  return remoteAddress ?? 'unknown';
}
