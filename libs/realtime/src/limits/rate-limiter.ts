export type RateVerdict = 'allow' | 'limit' | 'abuse';

/**
 * Token bucket per socket: `ratePerSecond` sustained, bursts of twice that. Refused events
 * also fill an abuse score that drains at `ratePerSecond`; a client that keeps sending well
 * above the limit (more than twice the rate, for a few seconds) reaches `abuse`.
 */
export class RateLimiter {
  private tokens: number;
  private abuseScore = 0;
  private last: number;
  private readonly burst: number;
  private readonly abuseThreshold: number;

  constructor(
    private readonly ratePerSecond: number,
    now: number,
  ) {
    this.burst = ratePerSecond * 2;
    this.abuseThreshold = ratePerSecond * 5;
    this.tokens = this.burst;
    this.last = now;
  }

  take(now: number): RateVerdict {
    const elapsedSeconds = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + elapsedSeconds * this.ratePerSecond);
    this.abuseScore = Math.max(0, this.abuseScore - elapsedSeconds * this.ratePerSecond);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'allow';
    }
    this.abuseScore += 1;
    return this.abuseScore > this.abuseThreshold ? 'abuse' : 'limit';
  }
}
