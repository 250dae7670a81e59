/**
 * At most `perMinute` notifications per user in any fixed one-minute window, so that a sensor that
 * keeps misbehaving (or an attacker feeding it) cannot flood its owner's inbox. What is held back
 * is counted and reported with the next notification that passes. State exists only for users
 * notified within the last minute, so it stays bounded by what the pipeline actually sends.
 */
export class OwnerNotificationLimiter {
  private readonly windows = new Map<string, { start: number; sent: number; suppressed: number }>();
  private lastSweep = 0;

  constructor(
    private readonly perMinute: number,
    private readonly windowMs = 60_000,
  ) {}

  /** `{ allowed: true, suppressed }` (held back since the last one that passed) or `{ allowed: false }`. */
  take(userId: string, now: number): { allowed: true; suppressed: number } | { allowed: false } {
    this.sweep(now);
    let window = this.windows.get(userId);
    if (!window || now - window.start >= this.windowMs) {
      const suppressed = window?.suppressed ?? 0;
      window = { start: now, sent: 0, suppressed };
      this.windows.set(userId, window);
    }
    if (window.sent >= this.perMinute) {
      window.suppressed += 1;
      return { allowed: false };
    }
    window.sent += 1;
    const suppressed = window.suppressed;
    window.suppressed = 0;
    return { allowed: true, suppressed };
  }

  /** Users with live state (for tests and metrics). */
  get size(): number {
    return this.windows.size;
  }

  /** Drops ended windows; one with something held back waits (up to an hour) to report it with the next notification. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [userId, window] of this.windows) {
      const age = now - window.start;
      if (age >= this.windowMs && (window.suppressed === 0 || age >= 60 * this.windowMs)) this.windows.delete(userId);
    }
  }
}
