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
/** The buffer's first two doubles: the mean and Welford's sum of squared differences. */
const MEAN = 0;
const M2 = 1;
/** Where the values start. */
const DATA = 2;

export class RollingWindow {
  /**
   * The mean and m2, then `slots` values, then `slots` timestamps. The mean and m2 live here rather
   * than in fields: a double field holds a boxed heap number (16 bytes each per series), an array
   * of doubles holds them unboxed.
   */
  private buffer: number[];
  private slots: number;
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.slots = Math.min(capacity, INITIAL_SLOTS);
    this.buffer = doubles(DATA + 2 * this.slots);
  }

  get size(): number {
    return this.count;
  }

  add(value: number, ts: number): void {
    const buffer = this.buffer;
    if (this.count < this.capacity) {
      // Not full yet, so `start` is still 0 and the readings sit at 0..count-1.
      if (this.count === this.slots) this.grow();
      const index = this.count;
      this.buffer[DATA + index] = value;
      this.buffer[DATA + this.slots + index] = ts;
      this.count += 1;
      const mean = this.buffer[MEAN]!;
      const delta = value - mean;
      const newMean = mean + delta / this.count;
      this.buffer[MEAN] = newMean;
      this.buffer[M2] = this.buffer[M2]! + delta * (value - newMean);
      return;
    }
    const leaving = buffer[DATA + this.start]!;
    buffer[DATA + this.start] = value;
    buffer[DATA + this.slots + this.start] = ts;
    this.start = (this.start + 1) % this.capacity;
    const oldMean = buffer[MEAN]!;
    const mean = oldMean + (value - leaving) / this.count;
    buffer[MEAN] = mean;
    const m2 = buffer[M2]! + (value - leaving) * (value - mean + leaving - oldMean);
    buffer[M2] = m2 < 0 ? 0 : m2; // rounding
  }

  private grow(): void {
    const slots = Math.min(this.capacity, this.slots * 2);
    const buffer = doubles(DATA + 2 * slots);
    buffer[MEAN] = this.buffer[MEAN]!;
    buffer[M2] = this.buffer[M2]!;
    for (let i = 0; i < this.count; i++) {
      buffer[DATA + i] = this.buffer[DATA + i]!;
      buffer[DATA + slots + i] = this.buffer[DATA + this.slots + i]!;
    }
    this.buffer = buffer;
    this.slots = slots;
  }

  stats(): { mean: number; std: number } {
    return { mean: this.buffer[MEAN]!, std: this.count > 1 ? Math.sqrt(this.buffer[M2]! / (this.count - 1)) : 0 };
  }

  /** Oldest first. */
  series(): { values: number[]; timestamps: number[] } {
    const values: number[] = [];
    const timestamps: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const index = (this.start + i) % this.capacity;
      values.push(this.buffer[DATA + index]!);
      timestamps.push(this.buffer[DATA + this.slots + index]!);
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
