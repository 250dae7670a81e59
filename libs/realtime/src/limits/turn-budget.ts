/**
 * Hands out the work of one turn of the event loop: whoever waits for it gets a later turn
 * (`setImmediate`) once this one is used up, so that a burst (a reconnect storm) is spread over
 * turns and I/O and timers run between them. Units are the caller's (deliveries, handshakes).
 */
export class TurnBudget {
  private used = 0;
  private resetScheduled = false;

  constructor(private readonly perTurn: number) {
    if (!Number.isSafeInteger(perTurn) || perTurn < 1) throw new RangeError(`A turn's budget must be a positive integer, got ${perTurn}`);
  }

  /** Resolves in a turn with room for `cost` (a turn of its own when `cost` is more than a turn holds). */
  async take(cost = 1): Promise<void> {
    while (this.used > 0 && this.used + cost > this.perTurn) await new Promise((resolve) => setImmediate(resolve));
    this.used += cost;
    if (!this.resetScheduled) {
      this.resetScheduled = true;
      setImmediate(() => {
        this.used = 0;
        this.resetScheduled = false;
      });
    }
  }
}
