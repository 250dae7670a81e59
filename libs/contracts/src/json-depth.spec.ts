import { describe, expect, it } from '@jest/globals';
import { jsonTextTooDeep, MAX_JSON_DEPTH, valueTooDeep } from './json-depth.js';

const nested = (depth: number, open = '{"a":', close = '}') => `${open.repeat(depth)}1${close.repeat(depth)}`;

describe('jsonTextTooDeep', () => {
  it.each([
    ['a flat object', '{"name":"x","type":"y"}'],
    ['exactly the limit of objects', nested(MAX_JSON_DEPTH)],
    ['exactly the limit of arrays', nested(MAX_JSON_DEPTH, '[', ']')],
    ['brackets inside strings', `{"name":"${'[{'.repeat(500)}"}`],
    ['escaped quotes inside strings', `{"name":"a\\"${'['.repeat(100)}"}`],
    ['siblings, each shallow', `[${Array.from({ length: 500 }, () => '{"a":[1]}').join(',')}]`],
    ['not JSON at all', 'hello'],
    ['more closing than opening', '}}}]]]'],
  ])('passes %s', (_, text) => {
    expect(jsonTextTooDeep(text)).toBe(false);
    expect(jsonTextTooDeep(Buffer.from(text))).toBe(false);
  });

  it.each([
    ['one level past the limit', nested(MAX_JSON_DEPTH + 1)],
    ['3,000 objects deep (the fuzz body)', nested(3000)],
    ['5,000 arrays deep', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['unterminated nesting', '['.repeat(60_000)],
    ['deep nesting after a string with brackets', `{"s":"]]]]","a":${nested(40)}}`],
  ])('refuses %s', (_, text) => {
    expect(jsonTextTooDeep(text)).toBe(true);
    expect(jsonTextTooDeep(Buffer.from(text))).toBe(true);
  });

  it('counts multi-byte UTF-8 text the same as its string', () => {
    const text = `{"é":"ü[[[","a":${nested(MAX_JSON_DEPTH)}}`;
    expect(jsonTextTooDeep(text)).toBe(true);
    expect(jsonTextTooDeep(Buffer.from(text))).toBe(true);
  });
});

describe('valueTooDeep', () => {
  it.each([
    ['a primitive', 7],
    ['null', null],
    ['a flat object', { topic: 'general', batchMs: 50 }],
    ['exactly the limit', JSON.parse(nested(MAX_JSON_DEPTH)) as unknown],
    ['a wide array', Array.from({ length: 10_000 }, () => ({ a: [1] }))],
    ['binary attachments', { data: Buffer.alloc(10), more: new Uint8Array(4) }],
    ['an ack function', () => undefined],
  ])('passes %s', (_, value) => {
    expect(valueTooDeep(value)).toBe(false);
  });

  it.each([
    ['one level past the limit', JSON.parse(nested(MAX_JSON_DEPTH + 1)) as unknown],
    ['3,000 levels deep', JSON.parse(nested(3000)) as unknown],
    ['deep arrays', JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`) as unknown],
    ['a deep branch among shallow ones', { a: 1, b: [1, 2], c: JSON.parse(nested(MAX_JSON_DEPTH)) as unknown }],
  ])('refuses %s', (_, value) => {
    expect(valueTooDeep(value)).toBe(true);
  });

  it('honours a smaller limit', () => {
    expect(valueTooDeep({ a: { b: {} } }, 2)).toBe(true);
    expect(valueTooDeep({ a: { b: 1 } }, 2)).toBe(false);
  });
});
