import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AdmissionRejectReason, ParsedReading, Sensor } from '#contracts';
import { CatalogFullException, type CatalogService } from '../catalog/catalog.service.js';
import { SENSORS } from '../catalog/catalog.tokens.js';
import { MetricRegistry } from '../limits/metric-registry.js';
import { TELEMETRY_OPTIONS, type ResolvedTelemetryOptions } from '../telemetry.options.js';

/** The `metadata` of every auto-registered sensor's `sensor:created`: one shared object, kept by each event in the stream history. */
const AUTO_REGISTERED = Object.freeze({ source: 'auto-registered' });

export type Admission = { ok: true; sensor: Sensor } | { ok: false; reason: AdmissionRejectReason };

/**
 * Decides whether a reading may enter the pipeline, before anything is kept for it: its sensor
 * exists or may be registered (`SENSOR_AUTO_REGISTER`, below `MAX_SENSORS`), and its metric is one
 * of the sensor's first `MAX_METRICS_PER_SENSOR`. So whatever names a device makes up, per-series
 * state exists only for admitted series.
 */
@Injectable()
export class ReadingAdmission {
  private readonly logger = new Logger(ReadingAdmission.name);
  private readonly metrics: MetricRegistry;
  /** Registrations in flight, by sensor id (at most one per id; gone once settled). */
  private readonly registering = new Map<string, Promise<Admission>>();

  constructor(
    @Inject(TELEMETRY_OPTIONS) private readonly options: ResolvedTelemetryOptions,
    @Inject(SENSORS) private readonly sensors: CatalogService<Sensor>,
  ) {
    this.metrics = new MetricRegistry(options.maxMetricsPerSensor, options.maxSensors);
  }

  async admit(reading: ParsedReading): Promise<Admission> {
    let sensor = await this.sensors.find(reading.sensorId);
    if (!sensor) {
      const registered = await this.registerOnce(reading);
      if (!registered.ok) return registered;
      sensor = registered.sensor;
    }
    if (!this.metrics.admit(sensor.id, reading.metric)) return { ok: false, reason: 'metric_limit' };
    return { ok: true, sensor };
  }

  /** The sensor was deleted: its metrics no longer count. */
  forget(sensorId: string): void {
    this.metrics.forget(sensorId);
  }

  /**
   * The readings of a new sensor that arrive while it is being registered wait for that one
   * registration: each would otherwise hold a place under `MAX_SENSORS` while it waits, and a
   * burst from a few new sensors would be refused as `sensor_limit`.
   */
  private registerOnce(reading: ParsedReading): Promise<Admission> {
    let pending = this.registering.get(reading.sensorId);
    if (!pending) {
      pending = this.register(reading);
      this.registering.set(reading.sensorId, pending);
      const settle = () => this.registering.delete(reading.sensorId);
      pending.then(settle, settle);
    }
    return pending;
  }

  private async register(reading: ParsedReading): Promise<Admission> {
    if (!this.options.autoRegister) return { ok: false, reason: 'unknown_sensor' };
    if (await this.sensors.isFull()) return { ok: false, reason: 'sensor_limit' };
    try {
      const sensor = await this.sensors.create(
        { id: reading.sensorId, name: reading.sensorId, type: 'auto', ...(reading.unit ? { unit: reading.unit } : {}) },
        AUTO_REGISTERED,
      );
      this.logger.log(`Registered unknown sensor ${reading.sensorId} on its first reading`);
      return { ok: true, sensor };
    } catch (error) {
      if (error instanceof CatalogFullException) return { ok: false, reason: 'sensor_limit' };
      // Registered concurrently by another reading.
      const sensor = await this.sensors.find(reading.sensorId);
      if (!sensor) throw error;
      return { ok: true, sensor };
    }
  }
}
