/**
 * The last `capacity` readings of one series with their mean and sample standard deviation,
 * updated in O(1) per reading (Welford's update, with the removal of the value that leaves the
 * window), which stays accurate where running sums of squares lose precision.
 *
 * A window is one plain array of doubles ({@link WindowState}): its mean, m2, start, count and a
 * counter for its owner, then `slots` values, then `slots` timestamps. The data grows as readings
 * arrive (doubling from one slot up to `capacity`), so a series that sees a handful of readings
 * costs a handful of slots. One array and nothing else: V8 keeps a plain array's doubles unboxed
 * (without a typed array's and its buffer's 180 bytes), while an object holding the array would
 * cost 72 bytes more per series, and a double in an object's field a boxed heap number.
 */
export type WindowState = number[];

const INITIAL_SLOTS = 1;
const MEAN = 0;
/** Welford's sum of squared differences from the mean. */
const M2 = 1;
/** Where the oldest reading is, once the window is full (0 until then). */
const START = 2;
const COUNT = 3;
/** Free for the window's owner (the series store's forecast counter). */
const COUNTER = 4;
/** Where the values start. */
const DATA = 5;

const slotsOf = (state: WindowState): number => (state.length - DATA) / 2;

/** An empty window. */
export function newWindow(capacity: number): WindowState {
  return doubles(DATA + 2 * Math.min(capacity, INITIAL_SLOTS));
}

/** Readings in the window. */
export function windowCount(state: WindowState): number {
  return state[COUNT]!;
}

/** Adds a reading, the oldest leaving a full window. Returns the window: a new array when it grew, so keep the returned one. */
export function windowAdd(state: WindowState, capacity: number, value: number, ts: number): WindowState {
  const count = state[COUNT]!;
  if (count < capacity) {
    // Not full yet, so `start` is still 0 and the readings sit at 0..count-1.
    if (count === slotsOf(state)) state = grown(state, capacity);
    const slots = slotsOf(state);
    state[DATA + count] = value;
    state[DATA + slots + count] = ts;
    state[COUNT] = count + 1;
    const mean = state[MEAN]!;
    const delta = value - mean;
    const newMean = mean + delta / (count + 1);
    state[MEAN] = newMean;
    state[M2] = state[M2]! + delta * (value - newMean);
    return state;
  }
  const start = state[START]!;
  const leaving = state[DATA + start]!;
  state[DATA + start] = value;
  state[DATA + capacity + start] = ts;
  state[START] = (start + 1) % capacity;
  const oldMean = state[MEAN]!;
  const mean = oldMean + (value - leaving) / count;
  state[MEAN] = mean;
  const m2 = state[M2]! + (value - leaving) * (value - mean + leaving - oldMean);
  state[M2] = m2 < 0 ? 0 : m2; // rounding
  return state;
}

export function windowStats(state: WindowState): { mean: number; std: number } {
  const count = state[COUNT]!;
  return { mean: state[MEAN]!, std: count > 1 ? Math.sqrt(state[M2]! / (count - 1)) : 0 };
}

/** The readings, oldest first. */
export function windowSeries(state: WindowState, capacity: number): { values: number[]; timestamps: number[] } {
  const [count, start, slots] = [state[COUNT]!, state[START]!, slotsOf(state)];
  const values: number[] = [];
  const timestamps: number[] = [];
  for (let i = 0; i < count; i++) {
    const index = (start + i) % capacity;
    values.push(state[DATA + index]!);
    timestamps.push(state[DATA + slots + index]!);
  }
  return { values, timestamps };
}

/** Adds one to the owner's counter; true (and the counter back at 0) when it reaches `every`. */
export function windowCountTo(state: WindowState, every: number): boolean {
  const counted = state[COUNTER]! + 1;
  state[COUNTER] = counted >= every ? 0 : counted;
  return counted >= every;
}

function grown(state: WindowState, capacity: number): WindowState {
  const [count, oldSlots] = [state[COUNT]!, slotsOf(state)];
  const slots = Math.min(capacity, oldSlots * 2);
  const next = doubles(DATA + 2 * slots);
  for (let i = 0; i < DATA; i++) next[i] = state[i]!;
  for (let i = 0; i < count; i++) {
    next[DATA + i] = state[DATA + i]!;
    next[DATA + slots + i] = state[DATA + oldSlots + i]!;
  }
  return next;
}

/** `length` zeros as an array of unboxed doubles (0.5 first, so V8 picks double elements from the start). */
function doubles(length: number): number[] {
  const array = new Array<number>(length).fill(0.5);
  array.fill(0);
  return array;
}
