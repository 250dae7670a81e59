/** A copy without the keys whose value is `undefined` (optional fields left unset). */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** URLs may carry credentials; never print them. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * ms from `base` to `now`, as a small integer when it is a whole number. Long-lived state keeps
 * times this way: a time since the epoch, or a difference of two such times until optimized code
 * runs, is a boxed double (a 16-byte heap number), and a field that has held one boxes every value
 * after it. `Math.floor` of an integer answers a small integer in every tier.
 */
export function msSince(base: number, now: number): number {
  const ms = now - base;
  return Math.floor(ms) === ms ? Math.floor(ms) : ms;
}
