/**
 * `MAX_METRICS_PER_SENSOR`: the metrics admitted per sensor, in memory. Only sensors that exist
 * reach it, so it holds at most `maxSensors` entries of at most `maxMetrics` names (a sensor
 * forgotten here, e.g. deleted on another instance, just starts counting again). In a cluster each
 * instance counts for itself, so a sensor has at most that many metrics per instance.
 */
export class MetricRegistry {
  private readonly bySensor = new Map<string, Set<string>>();

  constructor(
    private readonly maxMetrics: number,
    private readonly maxSensors: number,
  ) {}

  /** True when `metric` is (now) one of the sensor's metrics; false when it would be one too many. */
  admit(sensorId: string, metric: string): boolean {
    let metrics = this.bySensor.get(sensorId);
    if (metrics?.has(metric)) return true;
    if (!metrics) {
      if (this.bySensor.size >= this.maxSensors) this.bySensor.delete(this.bySensor.keys().next().value!);
      metrics = new Set();
      this.bySensor.set(sensorId, metrics);
    }
    if (metrics.size >= this.maxMetrics) return false;
    metrics.add(metric);
    return true;
  }

  forget(sensorId: string): void {
    this.bySensor.delete(sensorId);
  }

  get sensors(): number {
    return this.bySensor.size;
  }
}
