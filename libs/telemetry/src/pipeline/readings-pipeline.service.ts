import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { sensorTopic, type ParsedReading, type ReadingPayload, type Sensor } from '#contracts';
import { NotificationsService } from '#notifications';
import { MetricsService } from '#observability';
import { WebSocketService } from '#realtime';
import { judge } from '../anomalies/anomaly-detector.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import { SENSORS } from '../catalog/catalog.tokens.js';
import { holtForecast, medianInterval } from '../predictions/holt.js';
import { ReadingWriter } from '../readings/reading-writer.js';
import { SERIES_STORE, type SeriesStore } from '../series/series-store.js';
import { TELEMETRY_OPTIONS, type ResolvedTelemetryOptions } from '../telemetry.options.js';

/**
 * Every accepted reading, from MQTT or HTTP, goes through here once: emit `reading:new`, register
 * the sensor if new, queue it for the database (never waited for), judge it against the rolling statistics of its
 * (sensor, metric) series, and every `predictionEvery` readings emit a Holt forecast.
 */
@Injectable()
export class ReadingsPipeline {
  private readonly logger = new Logger(ReadingsPipeline.name);

  constructor(
    @Inject(TELEMETRY_OPTIONS) private readonly options: ResolvedTelemetryOptions,
    @Inject(SENSORS) private readonly sensors: CatalogService<Sensor>,
    private readonly writer: ReadingWriter,
    @Inject(SERIES_STORE) private readonly series: SeriesStore,
    private readonly websocket: WebSocketService,
    private readonly notifications: NotificationsService,
    private readonly metrics: MetricsService,
  ) {}

  async process(reading: ParsedReading): Promise<void> {
    // Delivery first: it needs no store, so live data keeps flowing while Redis is briefly away.
    const payload: ReadingPayload = reading;
    this.websocket.emitToTopic(['readings', sensorTopic(reading.sensorId)], 'reading:new', payload);
    this.metrics.deliveryLatency.observe(Math.max(0, Date.now() - reading.ts) / 1000);
    // Accepted: queued for the database at once (never waited for), whatever the steps below cost.
    this.writer.append(payload);

    const sensor = await this.sensorFor(reading);
    const observation = await this.series.observe(reading.sensorId, reading.metric, reading.value, reading.ts);
    const verdict = judge(reading.value, observation.before, observation.size, sensor.thresholds, {
      zLimit: this.options.anomalyZ,
      minReadings: this.options.anomalyMinReadings,
    });
    if (verdict) await this.reportAnomaly(sensor, reading, verdict);
    if (observation.forecastWindow) this.forecast(reading, observation.forecastWindow);
  }

  private async sensorFor(reading: ParsedReading): Promise<Sensor> {
    try {
      return await this.sensors.get(reading.sensorId);
    } catch {
      this.logger.log(`Registering unknown sensor ${reading.sensorId} on its first reading`);
      try {
        return await this.sensors.create({ id: reading.sensorId, name: reading.sensorId, type: 'auto', ...(reading.unit ? { unit: reading.unit } : {}) }, { source: 'auto-registered' });
      } catch {
        // Registered concurrently by another reading.
        return this.sensors.get(reading.sensorId);
      }
    }
  }

  private async reportAnomaly(sensor: Sensor, reading: ParsedReading, verdict: NonNullable<ReturnType<typeof judge>>): Promise<void> {
    const anomaly = {
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
    if (!sensor.ownerId) return;
    const why = verdict.reason === 'threshold' ? 'outside its thresholds' : `${verdict.score} standard deviations from the mean`;
    await this.notifications.notify([sensor.ownerId], {
      title: `${verdict.severity === 'critical' ? 'Critical' : 'Warning'}: ${sensor.name} ${reading.metric}`,
      message: `${reading.metric} = ${reading.value} is ${why} (expected ${round(verdict.expected.mean)} ± ${round(verdict.expected.std)})`,
      data: { anomaly },
    });
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
