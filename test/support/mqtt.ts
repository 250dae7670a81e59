import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';

const open = new Set<MqttClient>();

/** A real MQTT device client (3.1.1, so it works against the embedded broker too). */
export async function device(url: string, clientId = `device-${process.pid}-${Math.random().toString(36).slice(2)}`): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { clientId, protocolVersion: 4, reconnectPeriod: 0 });
  open.add(client);
  return client;
}

export async function publish(client: MqttClient, topic: string, payload: string | Buffer, options: IClientPublishOptions = { qos: 1 }): Promise<void> {
  await client.publishAsync(topic, payload, options);
}

export async function closeAllDevices(): Promise<void> {
  // A client the broker closed, with a QoS 1 publication still unacknowledged, never finishes a graceful end.
  await Promise.all([...open].map((client) => client.endAsync(!client.connected)));
  open.clear();
}

/** Reads one sample value of a Prometheus text exposition, e.g. `mqtt_messages_rejected_total{reason="bad_ts"}`. */
export function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`metric ${series} not found`);
  return Number(line.slice(series.length + 1));
}
