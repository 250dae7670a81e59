import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import { REJECT_REASONS } from '#contracts';

/**
 * The app's Prometheus registry and its metrics. Labels are bounded sets (reasons, codes, event
 * names), never user or sensor ids.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly mqttAccepted = new Counter({
    name: 'mqtt_messages_accepted_total',
    help: 'MQTT sensor messages accepted into the readings pipeline',
    registers: [this.registry],
  });

  readonly mqttRejected = new Counter({
    name: 'mqtt_messages_rejected_total',
    help: 'MQTT sensor messages dropped, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Every reason shows from the start, at 0, so rate() works before the first rejection.
    for (const reason of REJECT_REASONS) this.mqttRejected.inc({ reason }, 0);
  }
}
