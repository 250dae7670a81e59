import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { ReadingPayload } from '#contracts';
import { ClusterBus } from '../libs/realtime/src/cluster/cluster-bus.js';
import { closeAllClients, connectAs, countOf, initialUnreadCount, nextEvent, recordEvents } from './support/clients.js';
import { startTwoInstances } from './support/cluster.js';
import { eventually, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, metricValue, publish } from './support/mqtt.js';
import { closeAllPlain, connectPlain, wsUrl } from './support/plain-ws.js';
import { usePostgresDatabase } from './support/database.js';

describe('two instances behind one Redis, one broker and one PostgreSQL database', () => {
  const databaseUrl = usePostgresDatabase();
  let env: Record<string, string>;
  let prefix: string;
  let one: TestGateway;
  let two: TestGateway;

  beforeAll(async () => {
    // One sensor floods 1000 readings at once here: a delivery test, so the per-device rate limit is lifted.
    ({ env, one, two } = await startTwoInstances('cluster', { DATABASE_URL: databaseUrl(), MQTT_DEVICE_RATE_LIMIT: '100000' }));
    prefix = env['MQTT_TOPIC_PREFIX']!;
  });
  afterEach(async () => {
    closeAllClients();
    closeAllPlain();
    await closeAllDevices();
  });
  afterAll(async () => {
    await one.close();
    await two.close();
  });

  it('delivers a notification sent through instance 1 to the devices on both, and mark-read on 2 syncs 1', async () => {
    const service = one.token('svc', { role: 'service' });
    const phone = await connectAs(one.url, one.token('nomad'));
    const laptop = await connectAs(two.url, two.token('nomad'));
    const onPhone = nextEvent(phone, 'notification:new');
    const onLaptop = nextEvent(laptop, 'notification:new');
    const created = await api(one.url, 'POST', '/notifications', service, { userIds: ['nomad'], title: 'Hi', message: 'from one' });
    expect(created.status).toBe(201);
    const id = created.body.notifications[0].id as string;
    expect((await onPhone).notification.id).toBe(id);
    expect((await onLaptop).notification.id).toBe(id);

    const phoneRead = nextEvent(phone, 'notification:read');
    const phoneCount = nextEvent(phone, 'notification:unread_count');
    expect(await laptop.emitWithAck('notification:mark_read', { notificationId: id })).toEqual({ ok: true, notificationId: id, unreadCount: 0 });
    expect(await phoneRead).toEqual({ notificationId: id, success: true });
    expect(await phoneCount).toEqual({ unreadCount: 0 });

    await api(two.url, 'POST', '/notifications', service, { userIds: ['nomad'], title: 'Again', message: 'from two' });
    for (const gateway of [one, two]) {
      const inbox = await api(gateway.url, 'GET', '/notifications', gateway.token('nomad'));
      expect(inbox.body.unreadCount).toBe(1);
      expect(inbox.body.items.map((n: { title: string }) => n.title)).toEqual(['Again', 'Hi']);
    }
    const late = await connectAs(two.url, two.token('nomad'));
    expect(initialUnreadCount(late)).toBe(1);
  });

  it("forwards one request's notifications to plain WebSocket devices on the other instance, each user's in order", async () => {
    const service = one.token('svc', { role: 'service' });
    const users = ['fwd-a', 'fwd-b', 'fwd-c'];
    const devices = await Promise.all(users.map((user) => connectPlain(wsUrl(two.url, '/ws', `token=${two.token(user)}`))));
    const tell = jest.spyOn(one.app.get(ClusterBus), 'tell');
    try {
      for (const title of ['first', 'second']) {
        expect((await api(one.url, 'POST', '/notifications', service, { userIds: users, title, message: 'forwarded' })).status).toBe(201);
      }
      // Publications travel once, on the stream channel: nothing goes through the cluster bus (no forward, no adapter double publish).
      expect(tell.mock.calls).toEqual([]);
    } finally {
      tell.mockRestore();
    }
    for (const plain of devices) {
      await eventually(async () => expect(plain.messages.filter((m) => m.event?.startsWith('notification:'))).toHaveLength(4));
      expect(
        plain.messages.filter((m) => m.event?.startsWith('notification:')).map((m) => [m.event, m.payload.notification?.title ?? m.payload.unreadCount]),
      ).toEqual([
        ['notification:new', 'first'],
        ['notification:unread_count', 1],
        ['notification:new', 'second'],
        ['notification:unread_count', 2],
      ]);
    }
  });

  it('delivers each of 1000 readings exactly once to every subscriber on every instance, both protocols', async () => {
    const token = one.token('watcher');
    const ioOne = await connectAs(one.url, token);
    const ioTwo = await connectAs(two.url, token);
    await ioOne.emitWithAck('subscribe', { topic: 'readings' });
    await ioTwo.emitWithAck('subscribe', { topic: 'sensor:bulk-1' });
    await ioTwo.emitWithAck('subscribe', { topic: 'readings' });
    const plainOne = await connectPlain(wsUrl(one.url, '/ws', `token=${token}&topics=readings`));
    const plainTwo = await connectPlain(wsUrl(two.url, '/ws', `token=${token}&topics=readings,sensor:bulk-1`));
    const logs = [recordEvents(ioOne), recordEvents(ioTwo)];

    const sensor = await device('mqtt://127.0.0.1:1883');
    const start = Date.now() - 5_000;
    await Promise.all(Array.from({ length: 1000 }, (_, i) => publish(sensor, `${prefix}sensors/bulk-1/seq`, JSON.stringify({ value: i, ts: start + i }))));

    await Promise.all(logs.map((log) => log.until(countOf('reading:new', 1000))));
    await eventually(async () => {
      expect(plainOne.messages.filter((m) => m.event === 'reading:new')).toHaveLength(1000);
      expect(plainTwo.messages.filter((m) => m.event === 'reading:new')).toHaveLength(1000);
    });
    const valuesOf = (payloads: ReadingPayload[]) => new Set(payloads.map((r) => r.value));
    for (const log of logs) expect(valuesOf(log.filter((e) => e.event === 'reading:new').map((e) => e.payload as ReadingPayload)).size).toBe(1000);
    for (const plain of [plainOne, plainTwo]) expect(valuesOf(plain.messages.filter((m) => m.event === 'reading:new').map((m) => m.payload)).size).toBe(1000);
    // Let stragglers arrive, then check nothing came twice.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const log of logs) expect(log.filter((e) => e.event === 'reading:new')).toHaveLength(1000);
    expect(plainOne.messages.filter((m) => m.event === 'reading:new')).toHaveLength(1000);
    expect(plainTwo.messages.filter((m) => m.event === 'reading:new')).toHaveLength(1000);

    // Each reading entered the pipeline once in the cluster: the database holds each value once
    // (the other instance's share is visible once its writer has flushed).
    await eventually(async () => {
      const history = await api(one.url, 'GET', '/readings?sensorId=bulk-1&limit=1000', token);
      expect(history.body).toHaveLength(1000);
      expect(new Set(history.body.map((r: ReadingPayload) => r.value)).size).toBe(1000);
    });
  });

  it('batches readings for a batched subscriber on the other instance', async () => {
    const batched = await connectAs(two.url, two.token('batched-watcher'));
    await batched.emitWithAck('subscribe', { topic: 'sensor:batch-c', batchMs: 100 });
    const log = recordEvents(batched);
    const sensor = await device('mqtt://127.0.0.1:1883');
    for (let i = 0; i < 40; i++) await publish(sensor, `${prefix}sensors/batch-c/v`, String(i), { qos: 0 });
    const total = () => log.filter((e) => e.event === 'reading:batch').reduce((n, e) => n + (e.payload as { readings: unknown[] }).readings.length, 0);
    await eventually(async () => expect(total()).toBe(40));
    // Its other events (the sensor's auto-registration) arrive as usual; readings only in batches.
    expect(log.some((e) => e.event === 'reading:new')).toBe(false);
    const values = log.filter((e) => e.event === 'reading:batch').flatMap((e) => (e.payload as { readings: ReadingPayload[] }).readings.map((r) => r.value));
    expect(new Set(values).size).toBe(40);
  });

  it('fires the anomaly detector when one sensor’s readings are split across instances', async () => {
    const analyst = await connectAs(two.url, two.token('analyst'));
    await analyst.emitWithAck('subscribe', { topic: 'sensor:split-1' });
    const anomaly = nextEvent(analyst, 'anomaly:detected');
    const accepted = async (gateway: TestGateway) => metricValue(await (await fetch(`${gateway.url}/api/v1/metrics`)).text(), 'mqtt_messages_accepted_total');
    const before = [await accepted(one), await accepted(two)];
    // Registered before its readings: an instance that waited on the auto-registration the other one made fell behind,
    // and the window's first ten readings, all from the other instance, were then one value (a shared subscription deals
    // messages out in turn): a standard deviation of 0, and a normal reading judged critical. The values also come in
    // pairs (10, 10, 10.1, 10.1, ...), so that each instance gets both.
    expect((await api(one.url, 'POST', '/sensors', one.token('svc', { role: 'service' }), { id: 'split-1', name: 'split-1', type: 'level' })).status).toBe(201);
    const sensor = await device('mqtt://127.0.0.1:1883');
    for (let i = 0; i < 40; i++) await publish(sensor, `${prefix}sensors/split-1/level`, String(10 + (Math.floor(i / 2) % 2) * 0.1));
    await publish(sensor, `${prefix}sensors/split-1/level`, '42');
    expect(await anomaly).toMatchObject({ sensorId: 'split-1', value: 42, severity: 'critical', expected: { mean: expect.closeTo(10.05, 1) } });
    // The share group really did split the series: both instances took part of it.
    expect(await accepted(one)).toBeGreaterThan(before[0]!);
    expect(await accepted(two)).toBeGreaterThan(before[1]!);
  });

  it('answers presence and stats for the whole cluster', async () => {
    const admin = one.token('root', { role: 'admin' });
    await connectAs(two.url, two.token('remote-user'));
    await connectAs(two.url, two.token('remote-user'));
    await connectPlain(wsUrl(one.url, '/ws', `token=${one.token('remote-user')}&topics=sensor:stats-1`));
    const local = await connectAs(one.url, one.token('local-user'));
    await local.emitWithAck('subscribe', { topic: 'sensor:stats-1' });

    expect(await one.websocket.isUserConnected('remote-user')).toBe(true);
    expect(await one.websocket.getUserSocketCount('remote-user')).toBe(3);
    expect(await two.websocket.getUserSocketCount('local-user')).toBe(1);
    expect(await one.websocket.isUserConnected('nobody-at-all')).toBe(false);

    const stats = await api(one.url, 'GET', '/ws/stats', admin);
    expect(stats.body).toMatchObject({ instances: 2, connections: 4, connectionsByProtocol: { socketio: 3, ws: 1 }, users: 2 });
    expect(stats.body.topics['sensor:stats-1']).toEqual({ subscribers: 2 });
    expect((await api(two.url, 'GET', '/ws/stats/sensor:stats-1', admin)).body).toEqual({ topic: 'sensor:stats-1', subscribers: 2, connections: 2 });
  });
});
