import { Inject, Injectable, Logger } from '@nestjs/common';
import { parseReading, type ParsedReading } from '#contracts';
import { MetricsService } from '#observability';
import { DeviceRateLimiter } from '../limits/device-rate-limiter.js';
import { MQTT_INGEST_OPTIONS, type MqttIngestOptions } from '../mqtt/mqtt-ingest.service.js';
import { TELEMETRY_OPTIONS, type ResolvedTelemetryOptions } from '../telemetry.options.js';
import type { Admission } from './reading-admission.service.js';
import { ReadingsPipeline } from './readings-pipeline.service.js';

/** Turns raw MQTT messages into readings for the pipeline. Never throws: a bad message is counted and dropped. */
@Injectable()
export class ReadingIngestService {
  private readonly logger = new Logger(ReadingIngestService.name);
  /** Per sensor: with the embedded broker a device is its sensor; on an external broker the topic is all there is. */
  private readonly rateLimiter: DeviceRateLimiter;

  constructor(
    private readonly pipeline: ReadingsPipeline,
    private readonly metrics: MetricsService,
    @Inject(MQTT_INGEST_OPTIONS) mqtt: MqttIngestOptions,
    @Inject(TELEMETRY_OPTIONS) options: ResolvedTelemetryOptions,
  ) {
    this.rateLimiter = new DeviceRateLimiter(mqtt.deviceRateLimit ?? 100, Math.max(1000, options.maxSensors));
  }

  /** `topic` is relative to the configured topic prefix. */
  async fromMqtt(topic: string, payload: Uint8Array): Promise<void> {
    const parsed = parseReading(topic, payload, Date.now());
    if (!parsed.ok) {
      this.metrics.mqttRejected.inc({ reason: parsed.reason });
      this.logger.debug(`Dropped MQTT message on ${topic.slice(0, 200)}: ${parsed.reason} (${parsed.detail})`);
      return;
    }
    // A monotonic clock: a wall clock stepped back would look like a burst to the limiter.
    if (!this.rateLimiter.take(parsed.reading.sensorId, performance.now())) {
      this.metrics.mqttRejected.inc({ reason: 'rate_limited' });
      return;
    }
    const admission = await this.process(parsed.reading);
    if (admission?.ok === false) {
      this.metrics.mqttRejected.inc({ reason: admission.reason });
      this.logger.debug(`Dropped MQTT reading of ${parsed.reading.sensorId}/${parsed.reading.metric}: ${admission.reason}`);
      return;
    }
    this.metrics.mqttAccepted.inc();
  }

  /** Readings from HTTP, already validated. Null when the pipeline failed after admitting it (logged). */
  async process(reading: ParsedReading): Promise<Admission | null> {
    try {
      return await this.pipeline.process(reading);
    } catch (error) {
      this.logger.error(`Pipeline failed for ${reading.sensorId}/${reading.metric}: ${(error as Error).stack ?? error}`);
      return null;
    }
  }
}
