import { describe, expect, it } from '@jest/globals';
import { decodeCursor, encodeCursor, MAX_CURSOR_LENGTH } from './sse-cursor.js';

describe('SSE cursor', () => {
  it('round-trips every stream with its epoch and offset, whatever the stream name holds', () => {
    const positions = new Map([
      ['readings', { epoch: 'Qb3k9xT1', offset: 41 }],
      ['sensor:boiler-1', { epoch: 'h2Lw0pZa', offset: 0 }],
      ['user:a~b|c%d é', { epoch: 'x_-9', offset: Number.MAX_SAFE_INTEGER }],
    ]);
    const cursor = encodeCursor(positions);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(positions);
  });

  it('encodes the format of the design note', () => {
    const cursor = encodeCursor([
      ['readings', { epoch: 'Qb3k9xT1', offset: 41 }],
      ['user:alice', { epoch: 'h2Lw0pZa', offset: 3 }],
    ]);
    expect(Buffer.from(cursor, 'base64url').toString()).toBe('readings~Qb3k9xT1~41|user%3Aalice~h2Lw0pZa~3');
  });

  const b64 = (plain: string) => Buffer.from(plain, 'utf8').toString('base64url');
  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['base64url that does not round-trip', 'abcde'],
    ['too long', 'A'.repeat(MAX_CURSOR_LENGTH + 4)],
    ['an empty plain text', b64('')],
    ['a missing field', b64('readings~Qb3k9xT1')],
    ['an extra field', b64('readings~Qb3k9xT1~4~5')],
    ['a negative offset', b64('readings~Qb3k9xT1~-1')],
    ['a fractional offset', b64('readings~Qb3k9xT1~1.5')],
    ['a leading zero', b64('readings~Qb3k9xT1~01')],
    ['an offset beyond 2^53', b64('readings~Qb3k9xT1~9999999999999999')],
    ['an empty epoch', b64('readings~~4')],
    ['an epoch with other characters', b64('readings~Qb3k 9xT1~4')],
    ['an empty stream', b64('~Qb3k9xT1~4')],
    ['a stream named twice', b64('readings~a~1|readings~b~2')],
    ['a stream not percent-encoded as we encode it', b64('user:alice~a~1')],
    ['bad percent-encoding', b64('user%3~a~1')],
    ['an empty entry', b64('readings~a~1|')],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x7e]).toString('base64url')],
  ])('refuses %s as a whole', (_case, text) => {
    expect(decodeCursor(text)).toBeNull();
  });
});
