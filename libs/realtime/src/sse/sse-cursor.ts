import type { StreamPosition } from '../streams/stream-history.js';

/**
 * The SSE `id:` (and `Last-Event-ID`): every stream of the connection with its epoch and offset,
 * as base64url of `<stream>~<epoch>~<offset>|...` (docs/recovery-design.md §5). Stream names are
 * percent-encoded (`~`, `|` and `%` included) so any user id round-trips; epochs are the stores'
 * base64url strings. base64url keeps the id free of the CR, LF and NUL an SSE field cannot hold.
 */
export type SseCursor = Map<string, StreamPosition>;

/**
 * The longest cursor accepted: the topics of one connection are capped, and so is this. A
 * longer header is not parsed at all (a reset for everything), so reading it costs nothing.
 */
export const MAX_CURSOR_LENGTH = 8192;

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;
const OFFSET = /^(0|[1-9][0-9]{0,15})$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

const encodeStream = (stream: string): string => encodeURIComponent(stream).replace(/~/g, '%7E');

export function encodeCursor(positions: Iterable<[string, StreamPosition]>): string {
  const entries: string[] = [];
  for (const [stream, { epoch, offset }] of positions) entries.push(`${encodeStream(stream)}~${epoch}~${offset}`);
  return Buffer.from(entries.join('|'), 'utf8').toString('base64url');
}

/**
 * Strict: the whole cursor or nothing. Null for anything malformed (bad base64url, a bad entry, a
 * stream named twice, an empty cursor, too long): the caller treats that as a reset for every stream.
 */
export function decodeCursor(text: string): SseCursor | null {
  if (text.length === 0 || text.length > MAX_CURSOR_LENGTH || !BASE64URL.test(text)) return null;
  const decoded = Buffer.from(text, 'base64url');
  // Node's decoder skips what it cannot read: a cursor must round-trip exactly.
  if (decoded.toString('base64url') !== text) return null;
  const plain = decoded.toString('utf8');
  if (plain.length === 0 || !Buffer.from(plain, 'utf8').equals(decoded)) return null;
  const cursor: SseCursor = new Map();
  for (const entry of plain.split('|')) {
    const parts = entry.split('~');
    if (parts.length !== 3) return null;
    const [encodedStream, epoch, offset] = parts as [string, string, string];
    let stream: string;
    try {
      stream = decodeURIComponent(encodedStream);
    } catch {
      return null;
    }
    if (stream.length === 0 || encodeStream(stream) !== encodedStream) return null;
    if (!EPOCH.test(epoch) || !OFFSET.test(offset)) return null;
    const value = Number(offset);
    if (!Number.isSafeInteger(value) || cursor.has(stream)) return null;
    cursor.set(stream, { epoch, offset: value });
  }
  return cursor;
}
