import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, MqttContext } from '@nestjs/microservices';
import { SENSOR_TOPIC_FILTER } from '#contracts';
import { ReadingIngestService } from '../pipeline/reading-ingest.service.js';
import { MQTT_TOPIC_PREFIX } from './mqtt.tokens.js';

/** Thin MQTT handler: the raw topic and bytes go to the ingest service, which parses and never throws. */
@Controller()
export class SensorIngestController {
  constructor(
    private readonly ingest: ReadingIngestService,
    @Inject(MQTT_TOPIC_PREFIX) private readonly topicPrefix: string,
  ) {}

  @EventPattern<string>(SENSOR_TOPIC_FILTER)
  async onReading(@Ctx() context: MqttContext): Promise<void> {
    const topic = context.getTopic();
    const relative = topic.startsWith(this.topicPrefix) ? topic.slice(this.topicPrefix.length) : topic;
    await this.ingest.fromMqtt(relative, context.getPacket().payload as Uint8Array);
  }
}
