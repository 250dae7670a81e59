import type { Identity } from '#auth';

/** setTimeout's largest delay (~24.8 days); a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * When each connection's token expires, on one timer for all of them. Connections are grouped by
 * expiry instant (JWT `exp` is in whole seconds, so many share one) and the timer is armed for the
 * earliest. A timer per connection cost about 0.2 KB of every idle connection.
 */
export class TokenExpirySchedule {
  private readonly dueById = new Map<string, number>();
  private readonly idsByDue = new Map<number, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private readonly onExpired: (id: string) => void) {}

  /** Schedules, or moves (`auth:refresh` brings a new token), the expiry of `id`; no `exp`, no expiry. */
  schedule(id: string, identity: Identity): void {
    this.cancel(id);
    const due = identity.expiresAt;
    if (due === null) return;
    this.dueById.set(id, due);
    const ids = this.idsByDue.get(due);
    if (ids) ids.add(id);
    else this.idsByDue.set(due, new Set([id]));
    if (due < this.armedFor) this.arm(due);
  }

  cancel(id: string): void {
    const due = this.dueById.get(id);
    if (due === undefined) return;
    this.dueById.delete(id);
    const ids = this.idsByDue.get(due)!;
    ids.delete(id);
    if (ids.size === 0) this.idsByDue.delete(due);
    if (this.dueById.size === 0) this.disarm();
  }

  /** Connections with an expiry still pending. */
  get size(): number {
    return this.dueById.size;
  }

  private arm(due: number): void {
    clearTimeout(this.timer);
    this.armedFor = due;
    this.timer = setTimeout(() => this.expireDue(), Math.min(Math.max(0, due - Date.now()), MAX_TIMER_MS));
    this.timer.unref();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private expireDue(): void {
    this.disarm();
    const now = Date.now();
    const expired: string[] = [];
    let next = Infinity;
    for (const [due, ids] of this.idsByDue) {
      if (due > now) {
        next = Math.min(next, due);
        continue;
      }
      for (const id of ids) {
        expired.push(id);
        this.dueById.delete(id);
      }
      this.idsByDue.delete(due);
    }
    if (next < Infinity) this.arm(next);
    // Last, so a callback that disconnects (and cancels) or reschedules sees a consistent schedule.
    for (const id of expired) this.onExpired(id);
  }
}
