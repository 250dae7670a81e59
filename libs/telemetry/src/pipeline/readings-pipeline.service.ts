import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { sensorTopic, type AnomalyPayload, type ParsedReading, type ReadingPayload } from '#contracts';
import { MetricsService } from '#observability';
import { WebSocketService } from '#realtime';
import { judge } from '../anomalies/anomaly-detector.js';
import { holtForecast, medianInterval } from '../predictions/holt.js';
import { ReadingWriter } from '../readings/reading-writer.js';
import { SERIES_STORE, type SeriesStore } from '../series/series-store.js';
import { TELEMETRY_OPTIONS, type ResolvedTelemetryOptions } from '../telemetry.options.js';
import { READING_JUDGED, SENSOR_FORGOTTEN, type ReadingJudgedEvent, type SensorForgottenEvent } from './pipeline.events.js';
import { ReadingAdmission, type Admission } from './reading-admission.service.js';

/**
 * Every reading, from MQTT or HTTP, goes through here once: admit it (its sensor exists or may be
 * registered, its metric is within bounds), emit `reading:new`, queue it for the database (never
 * waited for), judge it against the rolling statistics of its (sensor, metric) series (an anomalous
 * reading is kept and shown but joins neither the window nor the forecast), announce the verdict
 * as the domain event `reading.judged` (alarms and owner notifications listen), and every
 * `predictionEvery` admitted readings emit a Holt forecast.
 */
const UNAVAILABLE_LOG_INTERVAL_MS = 10_000;

@Injectable()
export class ReadingsPipeline {
  private readonly logger = new Logger(ReadingsPipeline.name);
  /** Readings refused as `store_unavailable` since the last warning about them, and when that was. */
  private unavailableSinceLog = 0;
  private unavailableLoggedAt = 0;

  constructor(
    @Inject(TELEMETRY_OPTIONS) private readonly options: ResolvedTelemetryOptions,
    private readonly admission: ReadingAdmission,
    private readonly writer: ReadingWriter,
    @Inject(SERIES_STORE) private readonly series: SeriesStore,
    private readonly websocket: WebSocketService,
    private readonly events: EventEmitter2,
    private readonly metrics: MetricsService,
  ) {}

  /** Admission first: nothing is delivered or kept for a reading that is refused. */
  async process(reading: ParsedReading): Promise<Admission> {
    let admission: Admission;
    try {
      admission = await this.admission.admit(reading);
    } catch (error) {
      // The catalog is unreachable (its store is briefly away) and does not know this sensor from
      // memory: live data keeps flowing, but nothing is registered or kept for the reading.
      this.deliver(reading);
      this.reportUnavailable(error as Error);
      return { ok: false, reason: 'store_unavailable' };
    }
    if (!admission.ok) return admission;
    const { sensor } = admission;
    const payload = this.deliver(reading);

    // Accepted: queued for the database at once (never waited for), whatever the steps below cost.
    this.writer.append(payload);

    const gate = { zLimit: this.options.anomalyZ, minReadings: this.options.anomalyMinReadings, thresholds: sensor.thresholds };
    const observation = await this.series.observe(reading.sensorId, reading.metric, reading.value, reading.ts, gate);
    const verdict = judge(reading.value, observation.before, observation.size, sensor.thresholds, gate);
    const anomaly = verdict ? this.reportAnomaly(reading, verdict) : null;
    const judged: ReadingJudgedEvent = { sensor, reading: payload, verdict, anomaly };
    this.events.emit(READING_JUDGED, judged);
    if (observation.forecastWindow) this.forecast(reading, observation.forecastWindow);
    return admission;
  }

  /** A sensor was deleted: its metrics and series state go with it. */
  async forget(sensorId: string): Promise<void> {
    this.admission.forget(sensorId);
    await this.series.forget(sensorId);
    const forgotten: SensorForgottenEvent = { sensorId };
    this.events.emit(SENSOR_FORGOTTEN, forgotten);
  }

  /** Once per interval, not once per reading: a flood during an outage must not flood the log too. */
  private reportUnavailable(error: Error): void {
    this.unavailableSinceLog++;
    const now = Date.now();
    if (now - this.unavailableLoggedAt < UNAVAILABLE_LOG_INTERVAL_MS) return;
    this.logger.warn(`${this.unavailableSinceLog} reading(s) of sensors not in memory refused (store_unavailable): ${error.message}`);
    this.unavailableSinceLog = 0;
    this.unavailableLoggedAt = now;
  }

  private deliver(reading: ParsedReading): ReadingPayload {
    const payload: ReadingPayload = reading;
    this.websocket.emitToTopic(['readings', sensorTopic(reading.sensorId)], 'reading:new', payload);
    this.metrics.deliveryLatency.observe(Math.max(0, Date.now() - reading.ts) / 1000);
    return payload;
  }

  private reportAnomaly(reading: ParsedReading, verdict: NonNullable<ReturnType<typeof judge>>): AnomalyPayload {
    const anomaly: AnomalyPayload = {
      id: randomUUID(),
      sensorId: reading.sensorId,
      metric: reading.metric,
      value: reading.value,
      expected: verdict.expected,
      score: verdict.score,
      severity: verdict.severity,
      ts: reading.ts,
    };
    this.websocket.emitToTopic(['anomalies', sensorTopic(reading.sensorId)], 'anomaly:detected', anomaly);
    return anomaly;
  }

  private forecast(reading: ParsedReading, { values, timestamps }: { values: number[]; timestamps: number[] }): void {
    const forecast = holtForecast(values, this.options.predictionHorizon);
    if (!forecast) return;
    const step = medianInterval(timestamps);
    const last = timestamps[timestamps.length - 1]!;
    this.websocket.emitToTopic(['predictions', sensorTopic(reading.sensorId)], 'prediction:completed', {
      sensorId: reading.sensorId,
      metric: reading.metric,
      model: 'holt-linear',
      points: forecast.values.map((value, h) => ({ ts: Math.round(last + (h + 1) * step), value: round(value) })),
      ts: Date.now(),
    });
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
