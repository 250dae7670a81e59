import type { AnomalyPayload } from '#contracts';

export interface Thresholds {
  min?: number;
  max?: number;
}

export interface DetectorOptions {
  /** |z| above this is an anomaly; at twice this it is critical. */
  zLimit: number;
  /** No verdict before this many readings in the window. */
  minReadings: number;
}

export type Verdict = Pick<AnomalyPayload, 'expected' | 'score' | 'severity'> & { reason: 'z_score' | 'threshold' };

/** z-scores are capped so that a deviation from a constant series stays a finite JSON number. */
const MAX_SCORE = 1e6;

/**
 * Judges one value against the window's statistics before that value joins them, and against
 * the sensor's thresholds. Leaving the thresholds is always critical.
 */
export function judge(
  value: number,
  stats: { mean: number; std: number },
  windowSize: number,
  thresholds: Thresholds | undefined,
  options: DetectorOptions,
): Verdict | null {
  if (windowSize < options.minReadings) return null;
  const deviation = Math.abs(value - stats.mean);
  const score = stats.std > 0 ? Math.min(deviation / stats.std, MAX_SCORE) : deviation === 0 ? 0 : MAX_SCORE;
  const rounded = Math.round(score * 1000) / 1000;
  const outside =
    thresholds !== undefined && ((thresholds.min !== undefined && value < thresholds.min) || (thresholds.max !== undefined && value > thresholds.max));
  if (outside) return { expected: stats, score: rounded, severity: 'critical', reason: 'threshold' };
  if (score <= options.zLimit) return null;
  return { expected: stats, score: rounded, severity: score >= 2 * options.zLimit ? 'critical' : 'warning', reason: 'z_score' };
}
