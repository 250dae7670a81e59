import mqtt, { type MqttClient } from 'mqtt';
import { sensorMqttTopic, simulatedValue } from '#contracts';

export interface SimulatorOptions {
  url: string;
  /** Number of simulated sensors (`sim-001`, `sim-002`, ...). */
  sensors: number;
  /** Readings per second per sensor. */
  rate: number;
  metric: string;
  /** Chance per reading of a spike far outside the signal. */
  spikeProbability: number;
  /** Topic prefix, matching the gateway's MQTT_TOPIC_PREFIX. */
  prefix: string;
  qos: 0 | 1;
  /** Stop after this many seconds; 0 runs until aborted. */
  durationSeconds: number;
}

export interface SimulatorStats {
  published: number;
  spikes: number;
}

export const sensorIdOf = (index: number): string => `sim-${String(index + 1).padStart(3, '0')}`;

/** A fleet of MQTT devices publishing a sine with noise and occasional spikes. */
export async function simulate(options: SimulatorOptions, signal?: AbortSignal, onTick?: (stats: SimulatorStats) => void): Promise<SimulatorStats> {
  const client: MqttClient = await mqtt.connectAsync(options.url, { clientId: `simulator-${process.pid}-${Date.now()}`, protocolVersion: 4 });
  const stats: SimulatorStats = { published: 0, spikes: 0 };
  const phases = Array.from({ length: options.sensors }, (_, i) => (2 * Math.PI * i) / Math.max(1, options.sensors));
  const topics = phases.map((_, i) => `${options.prefix}${sensorMqttTopic(sensorIdOf(i), options.metric)}`);
  const deadline = options.durationSeconds > 0 ? Date.now() + options.durationSeconds * 1000 : Infinity;

  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (signal?.aborted || Date.now() >= deadline) {
        clearInterval(timer);
        resolve();
        return;
      }
      const now = Date.now();
      topics.forEach((topic, i) => {
        const spike = Math.random() < options.spikeProbability;
        const value = simulatedValue(now, { phase: phases[i] }) + (spike ? 30 : 0);
        if (spike) stats.spikes += 1;
        client.publish(topic, JSON.stringify({ value, ts: now, unit: 'C' }), { qos: options.qos });
        stats.published += 1;
      });
      onTick?.(stats);
    }, 1000 / options.rate);
  });
  await client.endAsync();
  return stats;
}
