/**
 * `MAX_METRICS_PER_SENSOR`: the metrics admitted per sensor, in memory. Only sensors that exist
 * reach it, so it holds at most `maxSensors` entries of at most `maxMetrics` names (a sensor
 * forgotten here, e.g. deleted on another instance, just starts counting again). In a cluster each
 * instance counts for itself, so a sensor has at most that many metrics per instance.
 */
export class MetricRegistry {
  /** A sensor's only metric as itself, a Set from the second on: most sensors have one, and a Set costs about 200 bytes. */
  private readonly bySensor = new Map<string, string | Set<string>>();

  constructor(
    private readonly maxMetrics: number,
    private readonly maxSensors: number,
  ) {}

  /** True when `metric` is (now) one of the sensor's metrics; false when it would be one too many. */
  admit(sensorId: string, metric: string): boolean {
    const metrics = this.bySensor.get(sensorId);
    if (metrics === undefined) {
      if (this.maxMetrics < 1) return false;
      if (this.bySensor.size >= this.maxSensors) this.bySensor.delete(this.bySensor.keys().next().value!);
      this.bySensor.set(sensorId, metric);
      return true;
    }
    if (typeof metrics === 'string') {
      if (metrics === metric) return true;
      if (this.maxMetrics < 2) return false;
      this.bySensor.set(sensorId, new Set([metrics, metric]));
      return true;
    }
    if (metrics.has(metric)) return true;
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
