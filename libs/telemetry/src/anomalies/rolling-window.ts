/**
 * The last `capacity` readings of one series with their mean and sample standard deviation,
 * updated in O(1) per reading (Welford's update, with the removal of the value that leaves the
 * window), which stays accurate where running sums of squares lose precision. The buffers grow
 * as readings arrive (doubling up to `capacity`), so a series that sees a handful of readings
 * costs a handful of slots, not a full window: what devices can create stays cheap.
 */
const INITIAL_SLOTS = 8;

export class RollingWindow {
  private values: Float64Array;
  private timestamps: Float64Array;
  private start = 0;
  private count = 0;
  private mean = 0;
  private m2 = 0;

  constructor(readonly capacity: number) {
    this.values = new Float64Array(Math.min(capacity, INITIAL_SLOTS));
    this.timestamps = new Float64Array(Math.min(capacity, INITIAL_SLOTS));
  }

  get size(): number {
    return this.count;
  }

  add(value: number, ts: number): void {
    if (this.count < this.capacity) {
      // Not full yet, so `start` is still 0 and the readings sit at 0..count-1.
      if (this.count === this.values.length) this.grow();
      const index = this.count;
      this.values[index] = value;
      this.timestamps[index] = ts;
      this.count += 1;
      const delta = value - this.mean;
      this.mean += delta / this.count;
      this.m2 += delta * (value - this.mean);
      return;
    }
    const leaving = this.values[this.start]!;
    this.values[this.start] = value;
    this.timestamps[this.start] = ts;
    this.start = (this.start + 1) % this.capacity;
    const oldMean = this.mean;
    this.mean += (value - leaving) / this.count;
    this.m2 += (value - leaving) * (value - this.mean + leaving - oldMean);
    if (this.m2 < 0) this.m2 = 0; // rounding
  }

  private grow(): void {
    const size = Math.min(this.capacity, this.values.length * 2);
    const values = new Float64Array(size);
    const timestamps = new Float64Array(size);
    values.set(this.values);
    timestamps.set(this.timestamps);
    this.values = values;
    this.timestamps = timestamps;
  }

  stats(): { mean: number; std: number } {
    return { mean: this.mean, std: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : 0 };
  }

  /** Oldest first. */
  series(): { values: number[]; timestamps: number[] } {
    const values: number[] = [];
    const timestamps: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const index = (this.start + i) % this.capacity;
      values.push(this.values[index]!);
      timestamps.push(this.timestamps[index]!);
    }
    return { values, timestamps };
  }
}
