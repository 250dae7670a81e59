/** A smooth, noisy signal for simulated sensors: a sine around `base` plus uniform noise. */
export function simulatedValue(tMs: number, { base = 21, amplitude = 3, periodMs = 60_000, noise = 0.3, phase = 0 } = {}): number {
  const value = base + amplitude * Math.sin((2 * Math.PI * tMs) / periodMs + phase) + (Math.random() * 2 - 1) * noise;
  return Math.round(value * 100) / 100;
}
