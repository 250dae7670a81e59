import { seriesKey } from '#contracts';
import { judge, type DetectorOptions, type Thresholds } from '../anomalies/anomaly-detector.js';
import { newWindow, windowAdd, windowCount, windowCountTo, windowSeries, windowStats, type WindowState } from '../anomalies/rolling-window.js';

/** How a reading is judged before it may join its window: the detector's options and the sensor's thresholds. */
export interface Gate extends DetectorOptions {
  thresholds?: Thresholds;
}

export interface Observation {
  /** The window's statistics before this reading joined it. */
  before: { mean: number; std: number };
  /** Readings in the window before this one. */
  size: number;
  /**
   * False for an anomalous reading (by {@link judge} against `before`): it left the window, the
   * statistics and the forecast counter untouched, so one spike bends neither the detector nor the
   * forecast.
   */
  admitted: boolean;
  /** The window (oldest first) when a forecast is due with this reading, else null. */
  forecastWindow: { values: number[]; timestamps: number[] } | null;
}

/**
 * Per-(sensor, metric) pipeline state: the rolling window and the forecast counter. In memory for
 * one instance; in Redis for a cluster, where readings of one sensor land on any instance.
 */
export interface SeriesStore {
  observe(sensorId: string, metric: string, value: number, ts: number, gate: Gate): Promise<Observation>;
  /** Drops every series of a deleted sensor, so deleting and re-creating sensors leaves nothing behind. */
  forget(sensorId: string): Promise<void>;
}

export const SERIES_STORE = Symbol('SERIES_STORE');

export class InMemorySeriesStore implements SeriesStore {
  /** One array per series: its window, with the forecast counter in the window's owner slot (see {@link WindowState}). */
  private readonly series = new Map<string, WindowState>();

  constructor(
    private readonly windowSize: number,
    private readonly forecastEvery: number,
  ) {}

  async observe(sensorId: string, metric: string, value: number, ts: number, gate: Gate): Promise<Observation> {
    const key = seriesKey(sensorId, metric);
    let state = this.series.get(key);
    if (!state) {
      state = newWindow(this.windowSize);
      this.series.set(key, state);
    }
    const before = windowStats(state);
    const size = windowCount(state);
    if (judge(value, before, size, gate.thresholds, gate) !== null) return { before, size, admitted: false, forecastWindow: null };
    const added = windowAdd(state, this.windowSize, value, ts);
    // A window that grew is a new array.
    if (added !== state) this.series.set(key, (state = added));
    const due = windowCountTo(state, this.forecastEvery);
    return { before, size, admitted: true, forecastWindow: due ? windowSeries(state, this.windowSize) : null };
  }

  async forget(sensorId: string): Promise<void> {
    const prefix = `${sensorId}/`;
    for (const key of this.series.keys()) if (key.startsWith(prefix)) this.series.delete(key);
  }
}
