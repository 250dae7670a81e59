export interface HoltFit {
  alpha: number;
  beta: number;
  level: number;
  trend: number;
  /** Sum of squared one-step-ahead errors. */
  sse: number;
}

function fit(values: readonly number[], alpha: number, beta: number): HoltFit {
  let level = values[0]!;
  let trend = values[1]! - values[0]!;
  let sse = 0;
  for (let i = 1; i < values.length; i++) {
    const forecast = level + trend;
    const error = values[i]! - forecast;
    sse += error * error;
    const previousLevel = level;
    level = alpha * values[i]! + (1 - alpha) * forecast;
    trend = beta * (level - previousLevel) + (1 - beta) * trend;
  }
  return { alpha, beta, level, trend, sse };
}

const GRID = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/**
 * Holt's linear trend method, its smoothing factors chosen from a 9x9 grid by the smallest
 * one-step-ahead squared error (81 passes over at most the window: cheap every few readings).
 */
export function holtForecast(values: readonly number[], horizon: number): { values: number[]; fit: HoltFit } | null {
  if (values.length < 3) return null;
  let best: HoltFit | null = null;
  for (const alpha of GRID) {
    for (const beta of GRID) {
      const candidate = fit(values, alpha, beta);
      if (!best || candidate.sse < best.sse) best = candidate;
    }
  }
  const { level, trend } = best!;
  return { values: Array.from({ length: horizon }, (_, h) => level + (h + 1) * trend), fit: best! };
}

/** The median gap between consecutive timestamps; forecasts are spaced by it. */
export function medianInterval(timestamps: readonly number[]): number {
  const gaps = timestamps
    .slice(1)
    .map((ts, i) => ts - timestamps[i]!)
    .filter((gap) => gap > 0)
    .sort((a, b) => a - b);
  if (gaps.length === 0) return 1000;
  const middle = Math.floor(gaps.length / 2);
  return gaps.length % 2 === 1 ? gaps[middle]! : (gaps[middle - 1]! + gaps[middle]!) / 2;
}
