import { msSince, seriesKey } from '#contracts';
import type { Clock } from '../alarm-state-machine.js';

export interface InactivityOptions {
  /** Silent for this many times the series' median interval raises inactivity. */
  factor: number;
  /** ... but never sooner than this (ms). */
  minMs: number;
  /** Readings a series needs before its silence means anything. @default 10 */
  minReadings?: number;
}

export interface SilentSeries<C> {
  sensorId: string;
  metric: string;
  /** Since the last reading (ms). */
  silentForMs: number;
  medianIntervalMs: number;
  /** What the caller attached to the series' last reading (its sensor). */
  context: C;
}

/** The median is taken over this many of the latest intervals: enough to ignore a few odd gaps. */
const INTERVALS = 15;

interface Series<C> {
  sensorId: string;
  metric: string;
  readings: number;
  /** Arrival of the last reading, ms after the tracker's time base: a small integer, not a boxed double. */
  last: number;
  /**
   * Ring of the latest intervals (ms), made at the second reading and grown to INTERVALS entries. A
   * plain array: a full ring stays on V8's heap (a 15-slot Float64Array keeps its data outside it, at
   * about three times the cost per series).
   */
  intervals: number[] | null;
  inactive: boolean;
  context: C;
}

/**
 * When each (sensor, metric) series last reported, and how often it usually does. A reading costs
 * a few stores; a sweep is one pass over the series comparing one number each, and takes a median
 * (of at most 15 intervals) only for a series quiet for `minMs` or longer, so 10,000 series sweep
 * in well under a millisecond, whatever the number of sockets. The
 * number of series is bounded by the pipeline's admission (MAX_SENSORS x MAX_METRICS_PER_SENSOR).
 * Time is arrival time by the injected clock: a device's own clock cannot make it look silent.
 */
export class InactivityTracker<C = undefined> {
  private readonly series = new Map<string, Series<C>>();
  private readonly minReadings: number;
  /** What `last` is relative to: the clock when the tracker was made. */
  private readonly base: number;

  constructor(
    private readonly options: InactivityOptions,
    private readonly clock: Clock,
  ) {
    this.minReadings = options.minReadings ?? 10;
    this.base = clock.now();
  }

  get size(): number {
    return this.series.size;
  }

  /** A reading arrived. True when the series had been reported silent: its inactivity is over. */
  seen(sensorId: string, metric: string, context: C): boolean {
    const now = this.sinceBase();
    const key = seriesKey(sensorId, metric);
    const state = this.series.get(key);
    if (!state) {
      this.series.set(key, {
        sensorId,
        metric,
        readings: 1,
        last: now,
        intervals: null,
        inactive: false,
        context,
      });
      return false;
    }
    const wasInactive = state.inactive;
    const interval = Math.max(0, now - state.last);
    const intervals = (state.intervals ??= []);
    if (intervals.length < INTERVALS) intervals.push(interval);
    // The ring's next slot: one interval per reading after the first.
    else intervals[(state.readings - 1) % INTERVALS] = interval;
    state.readings += 1;
    state.last = now;
    state.context = context;
    state.inactive = false;
    return wasInactive;
  }

  /** ms since the time base (`msSince`: `last` stays a small integer). */
  private sinceBase(): number {
    return msSince(this.base, this.clock.now());
  }

  /** The series that have gone silent since the last sweep; each is reported once until it reports again. */
  sweep(): SilentSeries<C>[] {
    const now = this.sinceBase();
    const silent: SilentSeries<C>[] = [];
    for (const state of this.series.values()) {
      // No interval yet (a single reading): nothing to measure its silence by.
      if (state.inactive || state.readings < this.minReadings || !state.intervals) continue;
      const silentForMs = now - state.last;
      // Most series reported within minMs: no median needed to know they are not silent.
      if (silentForMs < this.options.minMs) continue;
      const medianMs = median(state.intervals);
      if (silentForMs < Math.max(this.options.factor * medianMs, this.options.minMs)) continue;
      state.inactive = true;
      silent.push({ sensorId: state.sensorId, metric: state.metric, silentForMs, medianIntervalMs: medianMs, context: state.context });
    }
    return silent;
  }

  /** A deleted sensor: its series go, and nothing is raised for them. */
  forget(sensorId: string): void {
    for (const [key, state] of this.series) if (state.sensorId === sensorId) this.series.delete(key);
  }
}

function median(ring: readonly number[]): number {
  const values = ring.slice().sort((a, b) => a - b);
  const middle = Math.floor(values.length / 2);
  return values.length % 2 === 1 ? values[middle]! : (values[middle - 1]! + values[middle]!) / 2;
}
