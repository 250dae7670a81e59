import { afterEach, describe, expect, it } from '@jest/globals';
import { EmbeddedBroker } from '#telemetry';
import { closeAllClients, connectAs, nextEvent } from './support/clients.js';
import { eventually, startGateway, uniqueClientId, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, publish } from './support/mqtt.js';
import { freePort } from './support/process.js';

describe('MQTT sessions and broker outages', () => {
  const running: TestGateway[] = [];
  let broker: EmbeddedBroker | null = null;

  afterEach(async () => {
    closeAllClients();
    await closeAllDevices();
    await Promise.all(running.splice(0).map((gateway) => gateway.close()));
    await broker?.close();
    broker = null;
  });

  it('receives QoS 1 readings published to Mosquitto while it was stopped, after a restart with the same client id', async () => {
    const env = { MQTT_URL: 'mqtt://127.0.0.1:1883', MQTT_TOPIC_PREFIX: `e2e-qos-${process.pid}-${Date.now()}/`, MQTT_CLIENT_ID: uniqueClientId() };
    const first = await startGateway(env);
    await first.close();

    const sensor = await device('mqtt://127.0.0.1:1883');
    const start = Date.now() - 60_000;
    for (let i = 0; i < 5; i++)
      await publish(sensor, `${env.MQTT_TOPIC_PREFIX}sensors/offline-1/temp`, JSON.stringify({ value: i, ts: start + i * 1000 }), { qos: 1 });

    const second = await startGateway(env);
    running.push(second);
    const token = second.token('ops');
    const history = await eventually(async () => {
      const response = await api(second.url, 'GET', '/readings?sensorId=offline-1', token);
      expect(response.body).toHaveLength(5);
      return response.body as { value: number }[];
    });
    expect(history.map((r) => r.value)).toEqual([4, 3, 2, 1, 0]);
  });

  it('serves with /health 503 while the broker is unreachable, and resumes ingestion when it comes back', async () => {
    const port = await freePort();
    const gateway = await startGateway({ MQTT_URL: `mqtt://127.0.0.1:${port}` }, { waitForMqtt: false });
    running.push(gateway);
    const down = await api(gateway.url, 'GET', '/health');
    expect(down).toEqual({
      status: 503,
      body: { status: 'degraded', checks: expect.objectContaining({ mqtt: { status: 'down', detail: expect.any(String) } }) },
    });

    broker = await EmbeddedBroker.start({ port });
    await eventually(async () => expect((await api(gateway.url, 'GET', '/health')).status).toBe(200));

    const viewer = await connectAs(gateway.url, gateway.token('viewer'));
    await viewer.emitWithAck('subscribe', { topic: 'sensor:back-1' });
    const reading = nextEvent(viewer, 'reading:new');
    const sensor = await device(broker.url);
    await publish(sensor, 'sensors/back-1/temp', '7');
    expect(await reading).toMatchObject({ sensorId: 'back-1', value: 7 });
  });

  it('runs the demo sensor demo-1 when DEMO_FEED is on', async () => {
    const gateway = await startGateway({ DEMO_FEED: 'true' });
    running.push(gateway);
    const viewer = await connectAs(gateway.url, gateway.token('newcomer'));
    await viewer.emitWithAck('subscribe', { topic: 'sensor:demo-1' });
    const reading = await nextEvent(viewer, 'reading:new');
    expect(reading).toEqual({ sensorId: 'demo-1', metric: 'temperature', value: expect.any(Number), unit: 'C', ts: expect.any(Number) });
  });
});
