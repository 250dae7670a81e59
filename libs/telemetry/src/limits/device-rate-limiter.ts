/**
 * `MQTT_DEVICE_RATE_LIMIT`: a token bucket per sensor, `ratePerSecond` sustained with bursts of as
 * many. The map is bounded: an idle bucket refills to full, which is the same as having none, so
 * it is dropped; and beyond `maxEntries` the least recently used bucket goes first (ids come from
 * topics, which anyone who can publish names).
 */
export class DeviceRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; last: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly maxEntries: number,
  ) {}

  take(key: string, now: number): boolean {
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key);
      bucket.tokens = Math.min(this.ratePerSecond, bucket.tokens + (Math.max(0, now - bucket.last) / 1000) * this.ratePerSecond);
      bucket.last = now;
    } else {
      bucket = { tokens: this.ratePerSecond, last: now };
      if (this.buckets.size >= this.maxEntries) this.evict(now);
    }
    // Re-inserted on every use: the Map's order is least recently used first.
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Drops every bucket that has refilled; if none has, the least recently used one. */
  private evict(now: number): void {
    const refillMs = 1000;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.last >= refillMs) this.buckets.delete(key);
      else break; // the rest were used more recently
    }
    if (this.buckets.size >= this.maxEntries) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
