import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { MqttIngestService } from '#telemetry';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { closeAllDevices, device, metricValue } from './support/mqtt.js';

// A QoS 1 publication to a topic with an empty level (`sensors//temp`, `sensors/k1/`) matches
// `sensors/+/+` at any MQTT broker. The embedded broker refuses it before routing it; behind an
// external broker the ingest handler must see it (Nest's matcher skipped empty levels) and count it.
const RUN = `mt${process.pid.toString(36)}${Date.now().toString(36)}`;
const EMPTY_LEVELS = (sensor: string) => ['sensors//temp', `sensors/${sensor}/`, 'sensors//'];

const metrics = async (gateway: TestGateway) => (await fetch(`${gateway.url}/api/v1/metrics`)).text();
const badTopics = async (gateway: TestGateway) => metricValue(await metrics(gateway), 'mqtt_messages_rejected_total{reason="bad_topic"}');
const accepted = async (gateway: TestGateway) => metricValue(await metrics(gateway), 'mqtt_messages_accepted_total');
const settles = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms)),
  ]);

describe('MQTT topics with empty levels, embedded broker', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ MQTT_ALLOW_ANONYMOUS: 'true', SENSOR_AUTO_REGISTER: 'true' });
  });
  afterEach(() => closeAllDevices());
  afterAll(() => gateway.close());

  it('are refused and counted as bad_topic before routing; the gateway stays subscribed and keeps ingesting', async () => {
    const ingest = gateway.app.get(MqttIngestService);
    const states = new Set<string>();
    const watch = setInterval(() => states.add(ingest.state), 20);
    try {
      const before = await badTopics(gateway);
      for (const topic of EMPTY_LEVELS(`${RUN}-a`)) {
        const sender = await device(gateway.mqttUrl, `${RUN}-${Math.random().toString(36).slice(2)}`);
        const closed = new Promise<void>((resolve) => sender.once('close', () => resolve()));
        // MQTT 3.1.1 cannot refuse a publication: the broker closes the connection, never acks it.
        expect(await settles(sender.publishAsync(topic, '1', { qos: 1 }), 1_000)).toBe(false);
        await closed;
      }
      expect(await badTopics(gateway)).toBe(before + 3);
      const good = await device(gateway.mqttUrl, `${RUN}-good`);
      const acceptedBefore = await accepted(gateway);
      await good.publishAsync(`sensors/${RUN}-a/temp`, '21', { qos: 1 });
      await eventually(async () => expect(await accepted(gateway)).toBe(acceptedBefore + 1));
    } finally {
      clearInterval(watch);
    }
    expect([...states]).toEqual(['connected']);
  });
});

describe('MQTT topics with empty levels, external broker (Mosquitto)', () => {
  const prefix = `${RUN}/`;
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ MQTT_URL: 'mqtt://127.0.0.1:1883', MQTT_TOPIC_PREFIX: prefix, SENSOR_AUTO_REGISTER: 'true' });
  });
  afterEach(() => closeAllDevices());
  afterAll(() => gateway.close());

  it('reach the ingest handler and are counted as bad_topic', async () => {
    const before = await badTopics(gateway);
    const sender = await device('mqtt://127.0.0.1:1883', `${RUN}-ext`);
    for (const topic of EMPTY_LEVELS(`${RUN}-b`)) await sender.publishAsync(`${prefix}${topic}`, '1', { qos: 1 });
    await eventually(async () => expect(await badTopics(gateway)).toBe(before + 3));
    const acceptedBefore = await accepted(gateway);
    await sender.publishAsync(`${prefix}sensors/${RUN}-b/temp`, '21', { qos: 1 });
    await eventually(async () => expect(await accepted(gateway)).toBe(acceptedBefore + 1));
  });
});
