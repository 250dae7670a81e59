import { Injectable, Logger } from '@nestjs/common';
import { parseReading, type ParsedReading } from '#contracts';
import { MetricsService } from '#observability';
import { ReadingsPipeline } from './readings-pipeline.service.js';

/** Turns raw MQTT messages into readings for the pipeline. Never throws: a bad message is counted and dropped. */
@Injectable()
export class ReadingIngestService {
  private readonly logger = new Logger(ReadingIngestService.name);

  constructor(
    private readonly pipeline: ReadingsPipeline,
    private readonly metrics: MetricsService,
  ) {}

  /** `topic` is relative to the configured topic prefix. */
  async fromMqtt(topic: string, payload: Uint8Array): Promise<void> {
    const parsed = parseReading(topic, payload, Date.now());
    if (!parsed.ok) {
      this.metrics.mqttRejected.inc({ reason: parsed.reason });
      this.logger.debug(`Dropped MQTT message on ${topic.slice(0, 200)}: ${parsed.reason} (${parsed.detail})`);
      return;
    }
    this.metrics.mqttAccepted.inc();
    await this.process(parsed.reading);
  }

  /** Readings from HTTP, already validated. */
  async process(reading: ParsedReading): Promise<void> {
    try {
      await this.pipeline.process(reading);
    } catch (error) {
      this.logger.error(`Pipeline failed for ${reading.sensorId}/${reading.metric}: ${(error as Error).stack ?? error}`);
    }
  }
}
