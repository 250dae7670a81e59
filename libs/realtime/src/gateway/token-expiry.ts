import type { Identity } from '../auth/identity.js';

/** setTimeout's largest delay (~24.8 days); a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

/** One expiry timer per socket, replaced when `auth:refresh` brings a new token. */
export class TokenExpiryTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly onExpired: (socketId: string) => void) {}

  schedule(socketId: string, identity: Identity): void {
    this.cancel(socketId);
    const { expiresAt } = identity;
    if (expiresAt === null) return;
    const delay = Math.max(0, expiresAt - Date.now());
    const timer = setTimeout(() => {
      if (Date.now() < expiresAt) return this.schedule(socketId, identity);
      this.timers.delete(socketId);
      this.onExpired(socketId);
    }, Math.min(delay, MAX_TIMER_MS));
    timer.unref();
    this.timers.set(socketId, timer);
  }

  cancel(socketId: string): void {
    clearTimeout(this.timers.get(socketId));
    this.timers.delete(socketId);
  }

  get size(): number {
    return this.timers.size;
  }
}
