import { Logger } from '@nestjs/common';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { sensorMqttTopic, simulatedValue } from '#contracts';

export const DEMO_SENSOR = 'demo-1';
const DEMO_METRIC = 'temperature';

/**
 * `DEMO_FEED`: a simulated sensor `demo-1` that publishes `temperature` every second through the
 * broker, like a real device, so a fresh `npm start` shows live data.
 */
export class DemoFeed {
  private readonly logger = new Logger(DemoFeed.name);
  private client: MqttClient | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly brokerUrl: string,
    private readonly topicPrefix: string,
    /** The gateway's own login (username, password, ca) on the broker. */
    private readonly login: Pick<IClientOptions, 'username' | 'password' | 'ca'> = {},
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.client = mqtt.connect(this.brokerUrl, {
      clientId: `demo-feed-${process.pid}-${Date.now()}`,
      protocolVersion: 4,
      reconnectPeriod: 2000,
      ...this.login,
    });
    this.client.on('error', (error) => this.logger.warn(`Demo feed MQTT error: ${error.message}`));
    this.client.on('connect', () => (this.client?.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true));
    const topic = `${this.topicPrefix}${sensorMqttTopic(DEMO_SENSOR, DEMO_METRIC)}`;
    this.timer = setInterval(() => {
      if (!this.client?.connected) return;
      this.client.publish(topic, JSON.stringify({ value: simulatedValue(Date.now()), unit: 'C' }), { qos: 0 });
    }, this.intervalMs);
    this.timer.unref();
    this.logger.log(`Demo feed publishing ${topic} every ${this.intervalMs} ms`);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.client?.endAsync();
    this.client = null;
  }
}
