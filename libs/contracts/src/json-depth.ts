/**
 * How deep a client's JSON may nest (objects and arrays inside each other). No message of the
 * contract nests more than a few levels; class-transformer and class-validator recurse once per
 * level, so a 15 KB body nested 3,000 deep overflows the stack. Refused before they run.
 */
export const MAX_JSON_DEPTH = 32;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when JSON text (a string, or its UTF-8 bytes) opens more than `max` objects or arrays inside
 * each other. One pass without parsing and without recursion; brackets inside strings do not count,
 * and text that is not JSON at all is left for the parser to refuse.
 */
export function jsonTextTooDeep(text: string | Uint8Array, max = MAX_JSON_DEPTH): boolean {
  const length = text.length;
  const at: (i: number) => number = typeof text === 'string' ? (i) => text.charCodeAt(i) : (i) => text[i]!;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < length; i++) {
    const c = at(i);
    if (inString) {
      if (c === BACKSLASH) i += 1;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && depth > 0) {
      depth -= 1;
    }
  }
  return false;
}

/**
 * True when an already parsed value holds more than `max` objects or arrays inside each other
 * (`{}` and `[]` are one level). Iterative, and it stops at the first path deeper than `max`, so
 * its cost is bounded by the value's size whatever its shape. Binary attachments and functions
 * (a Socket.IO ack) are leaves.
 */
export function valueTooDeep(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null || ArrayBuffer.isView(current) || current instanceof ArrayBuffer) continue;
    if (depth > max) return true;
    const children = Array.isArray(current) ? (current as unknown[]) : Object.values(current);
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}
