import { DATABASE_CONNECTION, type DatabaseConnection } from '#database';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { AlarmPayload } from '#contracts';
import { closeAllClients, connectAs, recordEvents, type EventLog } from './support/clients.js';
import { startTwoInstances } from './support/cluster.js';
import { usePostgresDatabase } from './support/database.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, metricValue, publish } from './support/mqtt.js';

/** The alarm events a log holds for one sensor, in order. */
function alarmEvents(log: EventLog, sensorId: string): { event: string; alarm: AlarmPayload }[] {
  return log
    .filter((e) => e.event.startsWith('alarm:') && (e.payload as AlarmPayload).sensorId === sensorId)
    .map((e) => ({ event: e.event, alarm: e.payload as AlarmPayload }));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('alarms over MQTT on one gateway', () => {
  let gateway: TestGateway;
  let service: string;

  beforeAll(async () => {
    gateway = await startGateway({ ALARM_CLEAR_AFTER: '5' });
    service = gateway.token('ops', { role: 'service' });
  });
  afterEach(async () => {
    closeAllClients();
    await closeAllDevices();
  });
  afterAll(() => gateway.close());

  it('turns a stuck sensor into one alarm with a growing count and one notification, and clears it after 5 normal readings', async () => {
    expect(
      (
        await api(gateway.url, 'POST', '/sensors', service, {
          id: 'stuck-1',
          name: 'Stuck',
          type: 'temp',
          ownerId: 'owner-s',
          thresholds: { min: 0, max: 100 },
        })
      ).status,
    ).toBe(201);
    const owner = await connectAs(gateway.url, gateway.token('owner-s'));
    const ownerLog = recordEvents(owner);
    const watcher = await connectAs(gateway.url, gateway.token('watcher'));
    await watcher.emitWithAck('subscribe', { topic: 'alarms' });
    const log = recordEvents(watcher);

    const sensor = await device(gateway.mqttUrl);
    for (let i = 0; i < 12; i++) await publish(sensor, 'sensors/stuck-1/temp', String(50 + (i % 3)));
    for (let i = 0; i < 8; i++) await publish(sensor, 'sensors/stuck-1/temp', '500');
    await log.until((events) => alarmEvents(events as EventLog, 'stuck-1').length >= 8);

    const events = alarmEvents(log, 'stuck-1');
    expect(events.map((e) => e.event)).toEqual(['alarm:created', ...Array(7).fill('alarm:updated')]);
    expect(new Set(events.map((e) => e.alarm.id)).size).toBe(1);
    expect(events.map((e) => e.alarm.count)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const listed = await api(gateway.url, 'GET', '/alarms?sensorId=stuck-1', gateway.token('anyone'));
    expect(listed.body).toEqual({
      items: [
        {
          id: events[0]!.alarm.id,
          sensorId: 'stuck-1',
          metric: 'temp',
          type: 'threshold',
          severity: 'critical',
          status: 'active',
          acknowledged: false,
          startTs: expect.any(Number),
          lastTs: expect.any(Number),
          count: 8,
          details: { value: 500, expected: { mean: expect.any(Number), std: expect.any(Number) }, score: expect.any(Number), thresholds: { min: 0, max: 100 } },
        },
      ],
      nextCursor: null,
    });
    // Every raise was handled (each in turn, notifying before the next): the owner was told once.
    const inbox = await api(gateway.url, 'GET', '/notifications', gateway.token('owner-s'));
    expect(inbox.body.items).toHaveLength(1);
    expect(inbox.body.items[0]).toMatchObject({
      title: 'Critical: Stuck temp',
      message: 'temp = 500 is outside its thresholds',
      data: { alarm: { id: events[0]!.alarm.id }, reason: 'created' },
    });
    expect(ownerLog.filter((e) => e.event === 'notification:new')).toHaveLength(1);

    // Four normal readings keep it; the fifth clears it.
    for (let i = 0; i < 4; i++) await publish(sensor, 'sensors/stuck-1/temp', '50');
    await eventually(async () =>
      expect((await api(gateway.url, 'GET', '/alarms?sensorId=stuck-1', service)).body.items[0]).toMatchObject({ status: 'active' }),
    );
    await publish(sensor, 'sensors/stuck-1/temp', '50');
    await log.until((all) => alarmEvents(all as EventLog, 'stuck-1').some((e) => e.event === 'alarm:cleared'));
    const cleared = alarmEvents(log, 'stuck-1').find((e) => e.event === 'alarm:cleared')!.alarm;
    expect(cleared).toMatchObject({ id: events[0]!.alarm.id, status: 'cleared', clearTs: expect.any(Number) });
    expect(cleared.clearBy).toBeUndefined();
    // The next excursion is a new alarm.
    await publish(sensor, 'sensors/stuck-1/temp', '-5');
    await log.until((all) => alarmEvents(all as EventLog, 'stuck-1').filter((e) => e.event === 'alarm:created').length === 2);
    expect((await api(gateway.url, 'GET', '/alarms?sensorId=stuck-1&status=active', service)).body.items).toEqual([
      expect.objectContaining({ count: 1, details: expect.objectContaining({ value: -5 }) }),
    ]);
  });

  it('shows an acknowledgement and a clear made on one device on another user’s device, with who did it; refuses what it must', async () => {
    expect(
      (await api(gateway.url, 'POST', '/sensors', service, { id: 'pump-9', name: 'Pump 9', type: 'pressure', ownerId: 'ana', thresholds: { max: 10 } })).status,
    ).toBe(201);
    const ana = await connectAs(gateway.url, gateway.token('ana'));
    const ben = await connectAs(gateway.url, gateway.token('ben'));
    await ana.emitWithAck('subscribe', { topic: 'alarms' });
    await ben.emitWithAck('subscribe', { topic: 'alarms' });
    const anaLog = recordEvents(ana);
    const benLog = recordEvents(ben);
    const sensor = await device(gateway.mqttUrl);
    for (let i = 0; i < 10; i++) await publish(sensor, 'sensors/pump-9/pressure', '5');
    await publish(sensor, 'sensors/pump-9/pressure', '12');
    await benLog.until((events) => alarmEvents(events as EventLog, 'pump-9').length === 1);
    const alarmId = alarmEvents(benLog, 'pump-9')[0]!.alarm.id;

    // Acknowledged by its owner over the socket: Ben's device sees it, with who and when.
    const acked = await ana.emitWithAck('alarm:ack', { alarmId });
    expect(acked).toEqual({
      ok: true,
      alarm: expect.objectContaining({ id: alarmId, acknowledged: true, ackBy: 'ana', ackTs: expect.any(Number), status: 'active' }),
    });
    await benLog.until((events) => alarmEvents(events as EventLog, 'pump-9').some((e) => e.event === 'alarm:acknowledged'));
    expect(alarmEvents(benLog, 'pump-9').find((e) => e.event === 'alarm:acknowledged')!.alarm).toMatchObject({ id: alarmId, acknowledged: true, ackBy: 'ana' });
    // Again: nothing changes, nothing is announced.
    expect(await ana.emitWithAck('alarm:ack', { alarmId })).toMatchObject({ ok: true, alarm: { ackBy: 'ana' } });

    // Ben does not own the sensor; bad and unknown ids are refused on both transports.
    expect(await ben.emitWithAck('alarm:clear', { alarmId })).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: 'Not allowed' } });
    expect(await api(gateway.url, 'POST', `/alarms/${alarmId}/clear`, gateway.token('ben'))).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await ben.emitWithAck('alarm:clear', { alarmId: 'nope' })).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(await ben.emitWithAck('alarm:ack', { alarmId, extra: 1 } as never)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(await ana.emitWithAck('alarm:ack', { alarmId: '00000000-0000-4000-8000-000000000000' })).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'Not found' },
    });
    expect((await api(gateway.url, 'POST', '/alarms/not-a-uuid/ack', gateway.token('ana'))).status).toBe(400);
    expect((await api(gateway.url, 'POST', '/alarms/00000000-0000-4000-8000-000000000000/clear', gateway.token('ana'))).status).toBe(404);
    expect((await api(gateway.url, 'POST', `/alarms/${alarmId}/ack`)).status).toBe(401);

    // Cleared by its owner over REST: Ben's device sees that too.
    const cleared = await api(gateway.url, 'POST', `/alarms/${alarmId}/clear`, gateway.token('ana'));
    expect(cleared).toMatchObject({ status: 200, body: { id: alarmId, status: 'cleared', clearBy: 'ana', acknowledged: true } });
    await benLog.until((events) => alarmEvents(events as EventLog, 'pump-9').some((e) => e.event === 'alarm:cleared'));
    expect(alarmEvents(benLog, 'pump-9').map((e) => e.event)).toEqual(['alarm:created', 'alarm:acknowledged', 'alarm:cleared']);
    expect(alarmEvents(anaLog, 'pump-9').map((e) => e.event)).toEqual(['alarm:created', 'alarm:acknowledged', 'alarm:cleared']);
    // An admin may handle anyone's alarm; clearing twice changes nothing.
    expect(await api(gateway.url, 'POST', `/alarms/${alarmId}/clear`, gateway.token('root', { role: 'admin' }))).toMatchObject({
      status: 200,
      body: { clearBy: 'ana' },
    });
  });

  it('lists with validated filters and cursor paging, and counts for badges', async () => {
    const token = gateway.token('reader');
    for (const query of ['limit=0', 'limit=201', 'limit=x', 'status=open', 'severity=fatal', 'acknowledged=maybe', 'sensorId=a/b', 'cursor=abc', 'unknown=1']) {
      expect(await api(gateway.url, 'GET', `/alarms?${query}`, token)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    }
    expect((await api(gateway.url, 'GET', '/alarms')).status).toBe(401);
    const all = (await api(gateway.url, 'GET', '/alarms?limit=200', token)).body.items as AlarmPayload[];
    expect(all.length).toBeGreaterThanOrEqual(3);
    const first = await api(gateway.url, 'GET', '/alarms?limit=2', token);
    const second = await api(gateway.url, 'GET', `/alarms?limit=2&cursor=${first.body.nextCursor}`, token);
    expect([...first.body.items, ...second.body.items].map((a: AlarmPayload) => a.id)).toEqual(all.slice(0, 4).map((a) => a.id));
    const active = (await api(gateway.url, 'GET', '/alarms?status=active&acknowledged=false&severity=critical', token)).body.items as AlarmPayload[];
    expect(active.every((a) => a.status === 'active' && !a.acknowledged && a.severity === 'critical')).toBe(true);
    expect((await api(gateway.url, 'GET', '/alarms/counts', token)).body).toEqual({
      active: all.filter((a) => a.status === 'active').length,
      cleared: all.filter((a) => a.status === 'cleared').length,
      unacknowledged: all.filter((a) => a.status === 'active' && !a.acknowledged).length,
      bySeverity: {
        warning: all.filter((a) => a.status === 'active' && a.severity === 'warning').length,
        critical: all.filter((a) => a.status === 'active' && a.severity === 'critical').length,
      },
    });
  });
});

describe('inactivity, escalation and deleted sensors', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ INACTIVITY_MIN_SECONDS: '0.5', INACTIVITY_FACTOR: '3', ALARM_ESCALATE_AFTER: '1' });
  });
  afterEach(async () => {
    closeAllClients();
    await closeAllDevices();
  });
  afterAll(() => gateway.close());

  it('raises inactivity for a metric that goes quiet after reporting regularly, and its next reading clears it', async () => {
    const service = gateway.token('ops', { role: 'service' });
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'quiet-1', name: 'Quiet', type: 'temp', ownerId: 'owner-q' })).status).toBe(201);
    const watcher = await connectAs(gateway.url, gateway.token('watcher'));
    await watcher.emitWithAck('subscribe', { topic: 'sensor:quiet-1' });
    const log = recordEvents(watcher);
    const sensor = await device(gateway.mqttUrl);
    for (let i = 0; i < 12; i++) {
      await publish(sensor, 'sensors/quiet-1/temp', String(20 + (i % 2)));
      await sleep(50);
    }
    await log.until((events) => alarmEvents(events as EventLog, 'quiet-1').length === 1);
    const [raised] = alarmEvents(log, 'quiet-1');
    expect(raised).toMatchObject({
      event: 'alarm:created',
      alarm: {
        type: 'inactivity',
        metric: 'temp',
        severity: 'warning',
        status: 'active',
        details: { silentForMs: expect.any(Number), medianIntervalMs: expect.any(Number) },
      },
    });
    expect((raised!.alarm.details as { silentForMs: number }).silentForMs).toBeGreaterThanOrEqual(500);
    await eventually(async () =>
      expect((await api(gateway.url, 'GET', '/notifications', gateway.token('owner-q'))).body.items).toEqual([
        expect.objectContaining({ title: 'Warning: Quiet temp' }),
      ]),
    );

    await publish(sensor, 'sensors/quiet-1/temp', '20');
    await log.until((events) => alarmEvents(events as EventLog, 'quiet-1').some((e) => e.event === 'alarm:cleared'));
    expect(alarmEvents(log, 'quiet-1').find((e) => e.event === 'alarm:cleared')!.alarm).toMatchObject({ id: raised!.alarm.id, status: 'cleared' });
  });
  it('raises no inactivity while another instance keeps storing the series readings (a shared subscription splits them)', async () => {
    const service = gateway.token('ops', { role: 'service' });
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'shared-1', name: 'Shared', type: 'temp' })).status).toBe(201);
    const watcher = await connectAs(gateway.url, gateway.token('watcher'));
    await watcher.emitWithAck('subscribe', { topic: 'sensor:shared-1' });
    const log = recordEvents(watcher);
    const sensor = await device(gateway.mqttUrl);
    for (let i = 0; i < 12; i++) {
      await publish(sensor, 'sensors/shared-1/temp', String(20 + (i % 2)));
      await sleep(50);
    }
    // From here on "the other instance" gets the readings: only the shared latest_readings row moves.
    const { db } = gateway.app.get<DatabaseConnection>(DATABASE_CONNECTION);
    for (let i = 0; i < 30; i++) {
      await db
        .insertInto('latest_readings')
        .values({ sensor_id: 'shared-1', metric: 'temp', ts: Date.now(), value: 20, unit: null })
        .onConflict((conflict) => conflict.columns(['sensor_id', 'metric']).doUpdateSet({ ts: Date.now() }))
        .execute();
      await sleep(100);
    }
    // Three seconds: six times the 0.5 s deadline, with a sweep every second.
    expect(alarmEvents(log, 'shared-1')).toEqual([]);
    expect((await api(gateway.url, 'GET', '/alarms?sensorId=shared-1', service)).body.items).toEqual([]);
  });

  it('notifies the owner again about an unacknowledged critical alarm once ALARM_ESCALATE_AFTER has passed, and stops once it is acknowledged', async () => {
    const service = gateway.token('ops', { role: 'service' });
    expect(
      (await api(gateway.url, 'POST', '/sensors', service, { id: 'hot-1', name: 'Hot', type: 'temp', ownerId: 'owner-h', thresholds: { max: 50 } })).status,
    ).toBe(201);
    for (let i = 0; i < 10; i++) await api(gateway.url, 'POST', '/readings', service, { sensorId: 'hot-1', metric: 'temp', value: 20 });
    expect((await api(gateway.url, 'POST', '/readings', service, { sensorId: 'hot-1', metric: 'temp', value: 90 })).status).toBe(202);
    const owner = gateway.token('owner-h');
    const titles = async () => ((await api(gateway.url, 'GET', '/notifications', owner)).body.items as { title: string }[]).map((n) => n.title);
    // (The series also goes quiet here, so an inactivity warning joins them: only the critical ones count.)
    const critical = async () => (await titles()).filter((title) => title.toLowerCase().includes('critical'));
    await eventually(async () => expect((await critical()).slice(-2)).toEqual(['Unacknowledged critical: Hot temp', 'Critical: Hot temp']));
    const alarm = ((await api(gateway.url, 'GET', '/alarms?sensorId=hot-1&severity=critical', owner)).body.items as AlarmPayload[]).find(
      (a) => a.type === 'threshold',
    );
    expect((await api(gateway.url, 'POST', `/alarms/${alarm!.id}/ack`, owner)).status).toBe(200);
    // One escalation may have been under way while acknowledging; then, three more sweeps bring nothing new.
    await sleep(1_500);
    const afterAck = (await critical()).length;
    await sleep(3_000);
    expect(await critical()).toHaveLength(afterAck);
    expect((await critical()).filter((title) => title === 'Critical: Hot temp')).toHaveLength(1);
  });

  it('clears the active alarms of a deleted sensor and raises nothing more for it', async () => {
    const service = gateway.token('ops', { role: 'service' });
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'gone-1', name: 'Gone', type: 'temp', thresholds: { max: 50 } })).status).toBe(201);
    const watcher = await connectAs(gateway.url, gateway.token('watcher'));
    await watcher.emitWithAck('subscribe', { topic: 'alarms' });
    const log = recordEvents(watcher);
    for (let i = 0; i < 10; i++) await api(gateway.url, 'POST', '/readings', service, { sensorId: 'gone-1', metric: 'temp', value: 20 });
    await api(gateway.url, 'POST', '/readings', service, { sensorId: 'gone-1', metric: 'temp', value: 90 });
    await log.until((events) => alarmEvents(events as EventLog, 'gone-1').length === 1);
    expect((await api(gateway.url, 'DELETE', '/sensors/gone-1', service)).status).toBe(200);
    await log.until((events) => alarmEvents(events as EventLog, 'gone-1').some((e) => e.event === 'alarm:cleared'));
    expect((await api(gateway.url, 'GET', '/alarms?sensorId=gone-1&status=active', service)).body.items).toEqual([]);
    // Its series is forgotten: its silence raises no inactivity (three sweeps past the deadline).
    await sleep(3_000);
    expect(alarmEvents(log, 'gone-1').map((e) => e.event)).toEqual(['alarm:created', 'alarm:cleared']);
  });
});

describe('alarms on two instances behind one Redis, Mosquitto and PostgreSQL', () => {
  const databaseUrl = usePostgresDatabase();
  let env: Record<string, string>;
  let prefix: string;
  let one: TestGateway;
  let two: TestGateway;

  beforeAll(async () => {
    ({ env, one, two } = await startTwoInstances('alarms', { DATABASE_URL: databaseUrl(), MQTT_DEVICE_RATE_LIMIT: '100000' }));
    prefix = env['MQTT_TOPIC_PREFIX']!;
  });
  afterEach(async () => {
    closeAllClients();
    await closeAllDevices();
  });
  afterAll(async () => {
    await one.close();
    await two.close();
  });

  it('keeps one active alarm when readings of one sensor land on both instances at once', async () => {
    const service = one.token('ops', { role: 'service' });
    expect(
      (await api(one.url, 'POST', '/sensors', service, { id: 'split-a', name: 'Split', type: 'level', ownerId: 'owner-c', thresholds: { max: 100 } })).status,
    ).toBe(201);
    const watcher = await connectAs(two.url, two.token('watcher'));
    await watcher.emitWithAck('subscribe', { topic: 'alarms' });
    const log = recordEvents(watcher);
    const accepted = async (gateway: TestGateway) => metricValue(await (await fetch(`${gateway.url}/api/v1/metrics`)).text(), 'mqtt_messages_accepted_total');
    const before = [await accepted(one), await accepted(two)];
    const sensor = await device('mqtt://127.0.0.1:1883');
    for (let i = 0; i < 12; i++) await publish(sensor, `${prefix}sensors/split-a/level`, String(10 + (i % 2)));
    // Out of bounds, all at once: both instances raise at the same time.
    await Promise.all(Array.from({ length: 30 }, () => publish(sensor, `${prefix}sensors/split-a/level`, '500')));
    await log.until((events) => alarmEvents(events as EventLog, 'split-a').length >= 30);

    const events = alarmEvents(log, 'split-a');
    expect(events.filter((e) => e.event === 'alarm:created')).toHaveLength(1);
    expect(new Set(events.map((e) => e.alarm.id)).size).toBe(1);
    expect(Math.max(...events.map((e) => e.alarm.count))).toBe(30);
    for (const gateway of [one, two]) {
      expect((await api(gateway.url, 'GET', '/alarms?sensorId=split-a', gateway.token('reader'))).body.items).toEqual([
        expect.objectContaining({ status: 'active', count: 30 }),
      ]);
    }
    await eventually(async () => expect((await api(one.url, 'GET', '/notifications', one.token('owner-c'))).body.items).toHaveLength(1));
    // The share group really did split the series.
    expect(await accepted(one)).toBeGreaterThan(before[0]!);
    expect(await accepted(two)).toBeGreaterThan(before[1]!);
  });
});
