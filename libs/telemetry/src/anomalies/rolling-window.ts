/**
 * The last `capacity` readings of one series with their mean and sample standard deviation,
 * updated in O(1) per reading (Welford's update, with the removal of the value that leaves the
 * window), which stays accurate where running sums of squares lose precision. Values and
 * timestamps share one array of doubles (values in the first half, timestamps in the second) that
 * grows as readings arrive (doubling from one slot up to `capacity`), so a series that sees a
 * handful of readings costs a handful of slots. A plain array, not a Float64Array: V8 keeps its
 * doubles unboxed all the same, without a typed array's and its buffer's 180 bytes per series.
 */
const INITIAL_SLOTS = 1;

export class RollingWindow {
  /** `slots` values, then `slots` timestamps. */
  private buffer: number[];
  private slots: number;
  private start = 0;
  private count = 0;
  private mean = 0;
  private m2 = 0;

  constructor(readonly capacity: number) {
    this.slots = Math.min(capacity, INITIAL_SLOTS);
    this.buffer = doubles(2 * this.slots);
  }

  get size(): number {
    return this.count;
  }

  add(value: number, ts: number): void {
    if (this.count < this.capacity) {
      // Not full yet, so `start` is still 0 and the readings sit at 0..count-1.
      if (this.count === this.slots) this.grow();
      const index = this.count;
      this.buffer[index] = value;
      this.buffer[this.slots + index] = ts;
      this.count += 1;
      const delta = value - this.mean;
      this.mean += delta / this.count;
      this.m2 += delta * (value - this.mean);
      return;
    }
    const leaving = this.buffer[this.start]!;
    this.buffer[this.start] = value;
    this.buffer[this.slots + this.start] = ts;
    this.start = (this.start + 1) % this.capacity;
    const oldMean = this.mean;
    this.mean += (value - leaving) / this.count;
    this.m2 += (value - leaving) * (value - this.mean + leaving - oldMean);
    if (this.m2 < 0) this.m2 = 0; // rounding
  }

  private grow(): void {
    const slots = Math.min(this.capacity, this.slots * 2);
    const buffer = doubles(2 * slots);
    for (let i = 0; i < this.count; i++) {
      buffer[i] = this.buffer[i]!;
      buffer[slots + i] = this.buffer[this.slots + i]!;
    }
    this.buffer = buffer;
    this.slots = slots;
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
      values.push(this.buffer[index]!);
      timestamps.push(this.buffer[this.slots + index]!);
    }
    return { values, timestamps };
  }
}

/** `length` zeros as an array of unboxed doubles (0.5 first, so V8 picks double elements from the start). */
function doubles(length: number): number[] {
  const array = new Array<number>(length).fill(0.5);
  array.fill(0);
  return array;
}
