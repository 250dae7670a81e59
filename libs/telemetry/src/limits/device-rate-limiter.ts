/**
 * `MQTT_DEVICE_RATE_LIMIT`: a token bucket per sensor, `ratePerSecond` sustained with bursts of as
 * many. The map is bounded: an idle bucket refills to full, which is the same as having none, so
 * it is dropped; and beyond `maxEntries` the least recently used bucket goes first (ids come from
 * topics, which anyone who can publish names).
 *
 * A bucket is one number, the time (ms) at which it is full again: its tokens are `ratePerSecond`
 * less one per `1000 / ratePerSecond` ms still to go (the generic cell rate algorithm's form of the
 * same bucket). One number in the map, where an object of tokens and time cost three heap objects
 * per sensor.
 */
export class DeviceRateLimiter {
  private readonly fullAt = new Map<string, number>();
  /** ms per token. */
  private readonly interval: number;
  /** How far ahead of now `fullAt` may be for a token to be left: all tokens but one taken. */
  private readonly slack: number;
  /** How far ahead of now `fullAt` is when every token is taken. */
  private readonly span: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly maxEntries: number,
  ) {
    this.interval = 1000 / ratePerSecond;
    this.slack = (ratePerSecond - 1) * this.interval;
    this.span = ratePerSecond * this.interval;
  }

  take(key: string, now: number): boolean {
    let fullAt = this.fullAt.get(key);
    if (fullAt !== undefined) this.fullAt.delete(key);
    else {
      fullAt = now;
      if (this.fullAt.size >= this.maxEntries) this.evict(now);
    }
    // An empty bucket is full again one second after now; anything later means the clock went
    // back (a wall clock stepped by NTP): the bucket counts as empty rather than refusing until
    // the clock has made up the step.
    if (fullAt - now > this.span) fullAt = now + this.span;
    const allowed = fullAt - now <= this.slack;
    // Re-inserted on every use: the Map's order is least recently used first.
    this.fullAt.set(key, allowed ? Math.max(fullAt, now) + this.interval : fullAt);
    return allowed;
  }

  get size(): number {
    return this.fullAt.size;
  }

  /** Drops the least recently used buckets that have refilled; if the first has not, that one. */
  private evict(now: number): void {
    for (const [key, fullAt] of this.fullAt) {
      if (fullAt <= now) this.fullAt.delete(key);
      else break; // most of the rest were used more recently
    }
    if (this.fullAt.size >= this.maxEntries) this.fullAt.delete(this.fullAt.keys().next().value!);
  }
}
