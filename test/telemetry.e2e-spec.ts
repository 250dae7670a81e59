import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { PARSE_REJECT_REASONS, type ReadingPayload } from '#contracts';
import { closeAllClients, connectAs, countOf, nextEvent, recordEvents } from './support/clients.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, metricValue, publish } from './support/mqtt.js';

/** Runs the same telemetry behaviour against the embedded broker and the machine's Mosquitto. */
const brokers: [string, () => Record<string, string>][] = [
  ['the embedded broker', () => ({})],
  ['Mosquitto (MQTT_URL)', () => ({ MQTT_URL: 'mqtt://127.0.0.1:1883', MQTT_TOPIC_PREFIX: `e2e-telemetry-${process.pid}-${Date.now()}/` })],
];

describe.each(brokers)('MQTT ingestion through %s', (_name, env) => {
  let gateway: TestGateway;
  let prefix: string;

  beforeAll(async () => {
    const overrides = env();
    prefix = overrides['MQTT_TOPIC_PREFIX'] ?? '';
    gateway = await startGateway(overrides);
  });
  afterEach(async () => {
    closeAllClients();
    await closeAllDevices();
  });
  afterAll(() => gateway.close());

  it('delivers a bare number and a JSON reading to readings and sensor:<id> subscribers', async () => {
    const all = await connectAs(gateway.url, gateway.token('viewer'));
    await all.emitWithAck('subscribe', { topic: 'readings' });
    const one = await connectAs(gateway.url, gateway.token('viewer'));
    await one.emitWithAck('subscribe', { topic: 'sensor:boiler-1' });
    const allLog = recordEvents(all);
    const oneLog = recordEvents(one);

    const sensor = await device(gateway.mqttUrl);
    const before = Date.now();
    const stamped = before - 5000;
    await publish(sensor, `${prefix}sensors/boiler-1/temperature`, '21.5');
    await publish(sensor, `${prefix}sensors/boiler-1/pressure`, JSON.stringify({ value: 1.2, unit: 'bar', ts: stamped }));
    await Promise.all([allLog.until(countOf('reading:new', 2)), oneLog.until(countOf('reading:new', 2))]);

    const readings = allLog.filter((e) => e.event === 'reading:new').map((e) => e.payload as ReadingPayload);
    expect(readings[0]).toEqual({ sensorId: 'boiler-1', metric: 'temperature', value: 21.5, ts: expect.any(Number) });
    expect(readings[0]!.ts).toBeGreaterThanOrEqual(before);
    expect(readings[1]).toEqual({ sensorId: 'boiler-1', metric: 'pressure', value: 1.2, unit: 'bar', ts: stamped });
    expect(oneLog.filter((e) => e.event === 'reading:new').map((e) => e.payload)).toEqual(readings);

    const history = await api(gateway.url, 'GET', '/readings?sensorId=boiler-1&metric=temperature', gateway.token('viewer'));
    expect(history.body).toEqual([readings[0]]);
    const registered = await api(gateway.url, 'GET', '/sensors/boiler-1', gateway.token('viewer'));
    expect(registered.body).toMatchObject({ id: 'boiler-1', name: 'boiler-1', type: 'auto' });
  });

  it('counts every reject reason, delivers nothing for them, and stays healthy', async () => {
    const watcher = await connectAs(gateway.url, gateway.token('watcher'));
    await watcher.emitWithAck('subscribe', { topic: 'readings' });
    const log = recordEvents(watcher);
    const metricsBefore = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();

    const rejected = async (reason: string) =>
      metricValue(await (await fetch(`${gateway.url}/api/v1/metrics`)).text(), `mqtt_messages_rejected_total{reason="${reason}"}`) -
      metricValue(metricsBefore, `mqtt_messages_rejected_total{reason="${reason}"}`);
    // The embedded broker refuses a topic outside sensors/+/+ itself and closes that connection
    // (MQTT 3.1.1 has no other way to say no); Mosquitto passes it on and the gateway drops it.
    const stray = await device(gateway.mqttUrl);
    await publish(stray, `${prefix}sensors/bad id!/temp`, '1', { qos: 0 });
    await eventually(async () => expect(await rejected('bad_topic')).toBe(1));

    const sensor = await device(gateway.mqttUrl);
    const bad: [string, string | Buffer][] = [
      [`${prefix}sensors/ok/temp`, Buffer.alloc(2048, 0x31)],
      [`${prefix}sensors/ok/temp`, 'hot'],
      [`${prefix}sensors/ok/temp`, 'Infinity'],
      [`${prefix}sensors/ok/temp`, '{"value": 1, "ts": 12}'],
      [`${prefix}sensors/ok/temp`, '{"value": 1, "unit": 7}'],
      [`${prefix}sensors/ok/temp`, Buffer.from([0xff, 0xfe, 0x00])],
      [`${prefix}sensors/ok/temp`, '{"value": 1, "data": {"pattern": "x"}, "id": "abc", "pattern": "y"}'],
    ];
    for (const [topic, payload] of bad) await publish(sensor, topic, payload);
    // The last message is valid (keys that look like Nest's envelope are just data): it marks the end.
    await log.until(countOf('reading:new'));
    expect(log.filter((e) => e.event === 'reading:new').map((e) => e.payload)).toEqual([{ sensorId: 'ok', metric: 'temp', value: 1, ts: expect.any(Number) }]);

    const metricsAfter = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
    const delta = (reason: string) =>
      metricValue(metricsAfter, `mqtt_messages_rejected_total{reason="${reason}"}`) -
      metricValue(metricsBefore, `mqtt_messages_rejected_total{reason="${reason}"}`);
    expect(Object.fromEntries(PARSE_REJECT_REASONS.map((reason) => [reason, delta(reason)]))).toEqual({
      bad_topic: 1,
      too_large: 1,
      not_a_number: 2,
      not_finite: 1,
      bad_ts: 1,
      bad_unit: 1,
    });
    const health = await api(gateway.url, 'GET', '/health');
    expect(health).toEqual({ status: 200, body: { status: 'ok', checks: expect.objectContaining({ mqtt: { status: 'up', detail: 'connected' } }) } });
  });

  it("flags an anomaly after a steady series and notifies the owner's two devices", async () => {
    const service = gateway.token('ops', { role: 'service' });
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'tank-7', name: 'Tank 7', type: 'level', ownerId: 'owner-7' })).status).toBe(201);
    const phone = await connectAs(gateway.url, gateway.token('owner-7'));
    const laptop = await connectAs(gateway.url, gateway.token('owner-7'));
    const feed = await connectAs(gateway.url, gateway.token('analyst'));
    await feed.emitWithAck('subscribe', { topic: 'anomalies' });
    const anomaly = nextEvent(feed, 'anomaly:detected');
    const phoneNote = nextEvent(phone, 'notification:new');
    const laptopNote = nextEvent(laptop, 'notification:new');

    const sensor = await device(gateway.mqttUrl);
    for (let i = 0; i < 30; i++) await publish(sensor, `${prefix}sensors/tank-7/level`, String(50 + (i % 3) * 0.1));
    await publish(sensor, `${prefix}sensors/tank-7/level`, '80');

    expect(await anomaly).toEqual({
      id: expect.any(String),
      sensorId: 'tank-7',
      metric: 'level',
      value: 80,
      expected: { mean: expect.closeTo(50.1, 1), std: expect.any(Number) },
      score: expect.any(Number),
      severity: 'critical',
      ts: expect.any(Number),
    });
    const [onPhone, onLaptop] = await Promise.all([phoneNote, laptopNote]);
    expect(onPhone.notification).toMatchObject({ title: 'Critical: Tank 7 level', read: false, data: { anomaly: { sensorId: 'tank-7', value: 80 } } });
    expect(onLaptop.notification.id).toBe(onPhone.notification.id);
  });

  it('forecasts 5 rising points, spaced at the reading interval, for a rising series', async () => {
    const watcher = await connectAs(gateway.url, gateway.token('forecaster'));
    await watcher.emitWithAck('subscribe', { topic: 'sensor:ramp-1' });
    const prediction = nextEvent(watcher, 'prediction:completed');
    const sensor = await device(gateway.mqttUrl);
    const start = Date.now() - 60_000;
    for (let i = 0; i < 10; i++) await publish(sensor, `${prefix}sensors/ramp-1/flow`, JSON.stringify({ value: 10 + i * 2, ts: start + i * 1000 }));
    const forecast = await prediction;
    expect(forecast).toMatchObject({ sensorId: 'ramp-1', metric: 'flow', model: 'holt-linear' });
    expect(forecast.points).toHaveLength(5);
    forecast.points.forEach((point, h) => {
      expect(point.ts).toBe(start + 9000 + (h + 1) * 1000);
      expect(point.value).toBeCloseTo(28 + (h + 1) * 2, 1);
    });
  });
});

describe('sensors, locations and HTTP ingest', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  it('emits an EntityEvent for every sensor write to sensors, general and sensor:<id>', async () => {
    const token = gateway.token('editor');
    const general = await connectAs(gateway.url, token);
    await general.emitWithAck('subscribe', { topic: 'general' });
    await general.emitWithAck('subscribe', { topic: 'sensors' });
    await general.emitWithAck('subscribe', { topic: 'sensor:s-1' });
    const log = recordEvents(general);

    const created = await api(gateway.url, 'POST', '/sensors', token, {
      id: 's-1',
      name: 'Hall',
      type: 'temperature',
      unit: 'C',
      thresholds: { min: 0, max: 40 },
    });
    expect(created.status).toBe(201);
    expect((await api(gateway.url, 'PATCH', '/sensors/s-1', token, { name: 'Main hall' })).body).toMatchObject({ id: 's-1', name: 'Main hall', unit: 'C' });
    expect((await api(gateway.url, 'GET', '/sensors', token)).body).toEqual({ items: [expect.objectContaining({ id: 's-1' })], nextCursor: null });
    expect((await api(gateway.url, 'DELETE', '/sensors/s-1', token)).status).toBe(200);
    await log.until(countOf('sensor:deleted'));

    expect(log.map((e) => e.event)).toEqual(['sensor:created', 'sensor:updated', 'sensor:deleted']);
    expect(log[0]!.payload).toEqual({
      type: 'entity_event',
      entity_type: 'sensor',
      event_type: 'created',
      entity_id: 's-1',
      data: {
        id: 's-1',
        name: 'Hall',
        type: 'temperature',
        unit: 'C',
        thresholds: { min: 0, max: 40 },
        ownerId: 'editor',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(log[1]!.payload).toMatchObject({ event_type: 'updated', data: { name: 'Main hall' }, metadata: { changed: ['name'] } });
    expect((await api(gateway.url, 'GET', '/sensors/s-1', token)).status).toBe(404);
  });

  it('emits location events to locations and general, with 404 and 409 where due', async () => {
    const token = gateway.token('mapper');
    const socket = await connectAs(gateway.url, token);
    await socket.emitWithAck('subscribe', { topic: 'locations' });
    const log = recordEvents(socket);
    expect((await api(gateway.url, 'POST', '/locations', token, { id: 'plant-a', name: 'Plant A', latitude: 48.1, longitude: 11.6 })).status).toBe(201);
    expect((await api(gateway.url, 'POST', '/locations', token, { id: 'plant-a', name: 'Again' })).status).toBe(409);
    expect((await api(gateway.url, 'PATCH', '/locations/nowhere', token, { name: 'x' })).status).toBe(404);
    expect((await api(gateway.url, 'DELETE', '/locations/plant-a', token)).status).toBe(200);
    await log.until(countOf('location:deleted'));
    expect(log.map((e) => e.event)).toEqual(['location:created', 'location:deleted']);
    expect(log[0]!.payload).toMatchObject({ type: 'entity_event', entity_type: 'location', event_type: 'created', entity_id: 'plant-a' });
  });

  it('refuses bad sensor and location bodies with field errors, and changes nothing', async () => {
    const token = gateway.token('sloppy');
    const cases: [string, string, unknown, string[]][] = [
      ['POST', '/sensors', { name: 'x' }, ['type must be a string', 'type should not be empty', 'type must be shorter than or equal to 64 characters']],
      ['POST', '/sensors', { id: 'bad/id', name: 'x', type: 't' }, ['id must be 1-64 characters of A-Z a-z 0-9 _ . -']],
      ['POST', '/sensors', { name: 'x', type: 't', thresholds: { min: 'low' } }, ['thresholds.min must be a number conforming to the specified constraints']],
      ['POST', '/sensors', { name: 'x', type: 't', thresholds: { min: 5, max: 1 } }, ['thresholds.min must not be greater than thresholds.max']],
      ['POST', '/sensors', { name: 'x', type: 't', color: 'red' }, ['property color should not exist']],
      ['POST', '/locations', { name: 'x', latitude: 123 }, ['latitude must be a latitude string or number']],
    ];
    for (const [method, path, body, messages] of cases) {
      const response = await api(gateway.url, method, path, token, body);
      expect({ body, status: response.status, message: [...response.body.details].sort() }).toEqual({ body, status: 400, message: [...messages].sort() });
    }
    expect((await api(gateway.url, 'PATCH', '/sensors/anything', token, { id: 'renamed' })).status).toBe(400);
    expect((await api(gateway.url, 'GET', '/sensors', token)).body).toEqual({ items: [], nextCursor: null });
    expect((await api(gateway.url, 'GET', '/sensors')).status).toBe(401);
  });

  it('lets services and admins post readings through the same pipeline, and nobody else', async () => {
    const viewer = await connectAs(gateway.url, gateway.token('reader'));
    await viewer.emitWithAck('subscribe', { topic: 'sensor:http-1' });
    const arrived = nextEvent(viewer, 'reading:new');
    const reading = { sensorId: 'http-1', metric: 'rpm', value: 1200, ts: '2026-01-01T00:00:00.000Z' };

    expect((await api(gateway.url, 'POST', '/readings', gateway.token('someone', { role: 'user' }), reading)).status).toBe(403);
    expect((await api(gateway.url, 'POST', '/readings', undefined, reading)).status).toBe(401);
    const accepted = await api(gateway.url, 'POST', '/readings', gateway.token('svc', { role: 'service' }), reading);
    expect(accepted).toEqual({ status: 202, body: { accepted: { sensorId: 'http-1', metric: 'rpm', value: 1200, ts: Date.parse(reading.ts) } } });
    expect(await arrived).toEqual({ sensorId: 'http-1', metric: 'rpm', value: 1200, ts: Date.parse(reading.ts) });
    expect((await api(gateway.url, 'POST', '/readings', gateway.token('root', { role: 'admin' }), { ...reading, ts: undefined })).status).toBe(202);

    const admin = gateway.token('root', { role: 'admin' });
    for (const bad of [
      { ...reading, value: 'fast' },
      { ...reading, sensorId: 'a b' },
      { ...reading, ts: 12 },
      { ...reading, ts: 'soon' },
      { sensorId: 'x', metric: 'y' },
    ]) {
      expect((await api(gateway.url, 'POST', '/readings', admin, bad)).status).toBe(400);
    }
    expect((await api(gateway.url, 'GET', '/readings', admin)).status).toBe(400);
    const history = await api(gateway.url, 'GET', '/readings?sensorId=http-1&limit=1', admin);
    expect(history.body).toHaveLength(1);
  });
});
