import { redactUrl } from '#contracts';

/** Reads typed values out of an environment, collecting one readable line per bad variable. */
export class EnvReader {
  readonly errors: string[] = [];

  constructor(private readonly env: Record<string, string | undefined>) {}

  /** The raw value; empty strings count as unset. */
  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, { min = -Infinity, max = Infinity } = {}): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || value < min || value > max) {
      return this.fail(name, raw, `an integer from ${min} to ${max}`, fallback);
    }
    return value;
  }

  number(name: string, fallback: number, { min = -Infinity, max = Infinity, exclusiveMin = false } = {}): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || (exclusiveMin && value === min) || value > max) {
      return this.fail(name, raw, `a number ${exclusiveMin ? 'above' : 'from'} ${min}${Number.isFinite(max) ? ` to ${max}` : ''}`, fallback);
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.raw(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    return this.fail(name, raw, 'true or false', fallback);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    return this.fail(name, raw, `one of ${allowed.join(', ')}`, fallback);
  }

  list(name: string, fallback: string[]): string[] {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    try {
      const url = new URL(raw);
      if (protocols.includes(url.protocol.replace(/:$/, ''))) return raw;
    } catch {
      // reported below
    }
    return this.fail(name, redactUrl(raw), `a URL with scheme ${protocols.join(', ')}`, undefined);
  }

  /** Records a problem not about the value's shape (e.g. a rule across variables). */
  problem(name: string, message: string): void {
    this.errors.push(`${name}: ${message}`);
  }

  private fail<T>(name: string, raw: string, expected: string, fallback: T): T {
    this.errors.push(`${name}: expected ${expected}, got "${raw}"`);
    return fallback;
  }
}
