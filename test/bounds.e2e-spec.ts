import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { closeAllClients, connectAs, countOf, recordEvents } from './support/clients.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, metricValue, publish } from './support/mqtt.js';

/** Production rules (no auto-registration), with anonymous devices allowed explicitly so plain clients can publish. */
const PRODUCTION = { NODE_ENV: 'production', JWT_SECRET: 'bounds-e2e-secret-of-at-least-32-characters', MQTT_ALLOW_ANONYMOUS: 'true' };

function counters(gateway: TestGateway) {
  let before = '';
  const read = async () => (await fetch(`${gateway.url}/api/v1/metrics`)).text();
  return {
    reset: async () => {
      before = await read();
    },
    rejected: async (reason: string) => {
      const series = `mqtt_messages_rejected_total{reason="${reason}"}`;
      return metricValue(await read(), series) - metricValue(before, series);
    },
    accepted: async () => metricValue(await read(), 'mqtt_messages_accepted_total') - metricValue(before, 'mqtt_messages_accepted_total'),
  };
}

describe('bounds under production rules', () => {
  let gateway: TestGateway;
  let service: string;
  let metrics: ReturnType<typeof counters>;

  beforeAll(async () => {
    gateway = await startGateway({ ...PRODUCTION, MAX_SENSORS: '4', MAX_METRICS_PER_SENSOR: '2' });
    service = gateway.token('ops', { role: 'service' });
    metrics = counters(gateway);
  });
  beforeEach(() => metrics.reset());
  afterEach(async () => {
    closeAllClients();
    await closeAllDevices();
  });
  afterAll(() => gateway.close());

  it('refuses readings of unknown sensors when auto-registration is off, over MQTT and HTTP', async () => {
    expect(gateway.config.pipeline.autoRegister).toBe(false);
    const watcher = await connectAs(gateway.url, gateway.token('watcher'));
    await watcher.emitWithAck('subscribe', { topic: 'readings' });
    const log = recordEvents(watcher);
    const sensor = await device(gateway.mqttUrl);
    await publish(sensor, 'sensors/ghost-1/temp', '1');
    await eventually(async () => expect(await metrics.rejected('unknown_sensor')).toBe(1));
    expect((await api(gateway.url, 'GET', '/sensors/ghost-1', service)).status).toBe(404);

    const http = await api(gateway.url, 'POST', '/readings', service, { sensorId: 'ghost-2', metric: 'temp', value: 1 });
    expect(http).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect((await api(gateway.url, 'GET', '/sensors/ghost-2', service)).status).toBe(404);

    // Once the sensor exists, the same reading flows.
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'ghost-1', name: 'Ghost', type: 'test' })).status).toBe(201);
    await publish(sensor, 'sensors/ghost-1/temp', '2');
    await log.until(countOf('reading:new'));
    expect(log.filter((e) => e.event === 'reading:new').map((e) => e.payload)).toEqual([expect.objectContaining({ sensorId: 'ghost-1', value: 2 })]);
    expect(await api(gateway.url, 'GET', '/readings?sensorId=ghost-1', service)).toMatchObject({ body: [expect.objectContaining({ value: 2 })] });
  });

  it('keeps at most MAX_METRICS_PER_SENSOR metrics per sensor', async () => {
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'multi-1', name: 'Multi', type: 'test' })).status).toBe(201);
    const sensor = await device(gateway.mqttUrl);
    for (const metric of ['a', 'b', 'c', 'd', 'a']) await publish(sensor, `sensors/multi-1/${metric}`, '1');
    await eventually(async () => expect([await metrics.rejected('metric_limit'), await metrics.accepted()]).toEqual([2, 3]));
    const http = await api(gateway.url, 'POST', '/readings', service, { sensorId: 'multi-1', metric: 'e', value: 1 });
    expect(http).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
    expect((await api(gateway.url, 'POST', '/readings', service, { sensorId: 'multi-1', metric: 'b', value: 1 })).status).toBe(202);
    const history = await api(gateway.url, 'GET', '/readings?sensorId=multi-1&limit=100', service);
    expect(new Set((history.body as { metric: string }[]).map((r) => r.metric))).toEqual(new Set(['a', 'b']));

    // A deleted sensor's metrics go with it: re-created, it may have others.
    expect((await api(gateway.url, 'DELETE', '/sensors/multi-1', service)).status).toBe(200);
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'multi-1', name: 'Multi', type: 'test' })).status).toBe(201);
    expect((await api(gateway.url, 'POST', '/readings', service, { sensorId: 'multi-1', metric: 'e', value: 1 })).status).toBe(202);
  });

  it('creates at most MAX_SENSORS sensors over HTTP (409 beyond), and makes room when one is deleted', async () => {
    const existing = ((await api(gateway.url, 'GET', '/sensors', service)).body as { items: unknown[] }).items.length;
    const statuses: number[] = [];
    for (let i = existing; i < 6; i++)
      statuses.push((await api(gateway.url, 'POST', '/sensors', service, { id: `cap-${i}`, name: 'Cap', type: 'test' })).status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(4 - existing);
    expect(statuses.filter((s) => s === 409)).toHaveLength(2);
    expect(((await api(gateway.url, 'GET', '/sensors', service)).body as { items: unknown[] }).items.length).toBe(4);
    // Deleting one makes room again.
    expect((await api(gateway.url, 'DELETE', `/sensors/cap-${existing}`, service)).status).toBe(200);
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'cap-late', name: 'Cap', type: 'test' })).status).toBe(201);
  });
});

describe('device rate limit', () => {
  let gateway: TestGateway;
  let service: string;
  let metrics: ReturnType<typeof counters>;

  beforeAll(async () => {
    gateway = await startGateway({ ...PRODUCTION, MQTT_DEVICE_RATE_LIMIT: '2' });
    service = gateway.token('ops', { role: 'service' });
    metrics = counters(gateway);
    await metrics.reset();
  });
  afterEach(() => closeAllDevices());
  afterAll(() => gateway.close());

  it('throttles a device over MQTT_DEVICE_RATE_LIMIT and counts what it drops', async () => {
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'chatty-1', name: 'Chatty', type: 'test' })).status).toBe(201);
    const sensor = await device(gateway.mqttUrl);
    for (let i = 0; i < 20; i++) await publish(sensor, 'sensors/chatty-1/temp', String(i));
    await eventually(async () => expect((await metrics.accepted()) + (await metrics.rejected('rate_limited'))).toBe(20));
    expect(await metrics.rejected('rate_limited')).toBeGreaterThan(0);
    const history = await api(gateway.url, 'GET', '/readings?sensorId=chatty-1&limit=100', service);
    expect(history.body).toHaveLength(await metrics.accepted());
  });
});

describe('auto-registration bounded by MAX_SENSORS', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ ...PRODUCTION, SENSOR_AUTO_REGISTER: 'true', MAX_SENSORS: '3' });
  });
  afterEach(() => closeAllDevices());
  afterAll(() => gateway.close());

  it('registers unknown sensors until the limit, then counts sensor_limit', async () => {
    const metrics = counters(gateway);
    await metrics.reset();
    const sensor = await device(gateway.mqttUrl);
    for (let i = 0; i < 10; i++) await publish(sensor, `sensors/random-${i}/m`, '1');
    await eventually(async () => expect([await metrics.rejected('sensor_limit'), await metrics.accepted()]).toEqual([7, 3]));
    const sensors = ((await api(gateway.url, 'GET', '/sensors', gateway.token('ops', { role: 'service' }))).body as { items: { id: string; type: string }[] })
      .items;
    expect(sensors).toHaveLength(3);
    for (const sensor of sensors) expect(sensor).toMatchObject({ id: expect.stringMatching(/^random-\d$/), type: 'auto' });
    const http = await api(gateway.url, 'POST', '/readings', gateway.token('ops', { role: 'service' }), { sensorId: 'random-99', metric: 'm', value: 1 });
    expect(http).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
  });
});

describe('auto-registration under a burst', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ ...PRODUCTION, SENSOR_AUTO_REGISTER: 'true', MAX_SENSORS: '2' });
  });
  afterEach(() => closeAllDevices());
  afterAll(() => gateway.close());

  it('admits every reading of new sensors that arrive while they are being registered, with the limit exactly reached', async () => {
    const metrics = counters(gateway);
    await metrics.reset();
    const sensor = await device(gateway.mqttUrl);
    // 100 readings each (the rate limit's burst), all sent before the first registration can finish.
    await Promise.all(Array.from({ length: 200 }, (_, i) => publish(sensor, `sensors/burst-${i % 2}/m`, String(i))));
    await eventually(async () => expect([await metrics.accepted(), await metrics.rejected('sensor_limit')]).toEqual([200, 0]));
    const service = gateway.token('ops', { role: 'service' });
    expect(((await api(gateway.url, 'GET', '/sensors', service)).body as { items: { id: string }[] }).items.map((s) => s.id).sort()).toEqual([
      'burst-0',
      'burst-1',
    ]);
  });
});

describe('sensor ownership', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ ...PRODUCTION, OWNER_NOTIFICATIONS_PER_MINUTE: '2' });
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  it('makes a user who creates a sensor its owner; nobody else but admin or service changes it', async () => {
    const alice = gateway.token('alice');
    const mallory = gateway.token('mallory');
    const admin = gateway.token('root', { role: 'admin' });
    const service = gateway.token('svc', { role: 'service' });

    expect(await api(gateway.url, 'POST', '/sensors', alice, { id: 'own-1', name: 'Mine', type: 'test' })).toMatchObject({
      status: 201,
      body: { ownerId: 'alice' },
    });
    expect(await api(gateway.url, 'POST', '/sensors', alice, { id: 'own-2', name: 'Mine too', type: 'test', ownerId: 'alice' })).toMatchObject({
      status: 201,
      body: { ownerId: 'alice' },
    });
    expect(await api(gateway.url, 'POST', '/sensors', mallory, { id: 'own-3', name: 'Yours', type: 'test', ownerId: 'alice' })).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });
    expect((await api(gateway.url, 'GET', '/sensors/own-3', alice)).status).toBe(404);
    expect(await api(gateway.url, 'POST', '/sensors', admin, { id: 'own-4', name: 'Given', type: 'test', ownerId: 'alice' })).toMatchObject({
      status: 201,
      body: { ownerId: 'alice' },
    });
    expect(await api(gateway.url, 'POST', '/sensors', service, { id: 'own-5', name: 'Unowned', type: 'test' })).toMatchObject({ status: 201 });
    expect((await api(gateway.url, 'GET', '/sensors/own-5', alice)).body.ownerId).toBeUndefined();

    expect(await api(gateway.url, 'PATCH', '/sensors/own-1', mallory, { name: 'Hijacked' })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await api(gateway.url, 'DELETE', '/sensors/own-1', mallory)).toMatchObject({ status: 403 });
    expect(await api(gateway.url, 'PATCH', '/sensors/own-5', alice, { name: 'Taken' })).toMatchObject({ status: 403 });
    expect(await api(gateway.url, 'PATCH', '/sensors/own-1', alice, { ownerId: 'mallory' })).toMatchObject({ status: 403 });
    expect((await api(gateway.url, 'PATCH', '/sensors/missing', mallory, { name: 'x' })).status).toBe(404);
    expect((await api(gateway.url, 'GET', '/sensors/own-1', mallory)).body).toMatchObject({ name: 'Mine', ownerId: 'alice' });

    expect(await api(gateway.url, 'PATCH', '/sensors/own-1', alice, { name: 'Renamed' })).toMatchObject({
      status: 200,
      body: { name: 'Renamed', ownerId: 'alice' },
    });
    expect(await api(gateway.url, 'PATCH', '/sensors/own-1', admin, { ownerId: 'bob' })).toMatchObject({ status: 200, body: { ownerId: 'bob' } });
    expect((await api(gateway.url, 'DELETE', '/sensors/own-1', alice)).status).toBe(403);
    expect((await api(gateway.url, 'DELETE', '/sensors/own-2', alice)).status).toBe(200);
    expect((await api(gateway.url, 'DELETE', '/sensors/own-4', service)).status).toBe(200);
  });

  it('rate-limits alarm notifications to one owner, while every anomaly and alarm is still published', async () => {
    const service = gateway.token('svc', { role: 'service' });
    expect(
      (await api(gateway.url, 'POST', '/sensors', service, { id: 'noisy-1', name: 'Noisy', type: 'test', ownerId: 'olga', thresholds: { max: 10 } })).status,
    ).toBe(201);
    const feed = await connectAs(gateway.url, gateway.token('analyst'));
    await feed.emitWithAck('subscribe', { topic: 'anomalies' });
    await feed.emitWithAck('subscribe', { topic: 'alarms' });
    const log = recordEvents(feed);
    const start = Date.now() - 60_000;
    // Six metrics, each with its own alarm (one alarm per series: a repeat would not notify at all).
    for (let metric = 0; metric < 6; metric++) {
      for (let i = 0; i < 10; i++)
        await api(gateway.url, 'POST', '/readings', service, { sensorId: 'noisy-1', metric: `m${metric}`, value: 5, ts: start + i * 1000 });
      expect(
        (await api(gateway.url, 'POST', '/readings', service, { sensorId: 'noisy-1', metric: `m${metric}`, value: 100 + metric, ts: start + 10_000 })).status,
      ).toBe(202);
    }
    await log.until(countOf('anomaly:detected', 6));
    await log.until(countOf('alarm:created', 6));

    await eventually(async () => {
      const inbox = await api(gateway.url, 'GET', '/notifications', gateway.token('olga'));
      expect(inbox.body.items.map((n: { title: string }) => n.title)).toEqual(['Critical: Noisy m1', 'Critical: Noisy m0']);
    });
  });
});
