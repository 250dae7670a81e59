import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReadingPayload } from '#contracts';
import { closeAllClients, connectAs, countOf, recordEvents } from './support/clients.js';
import { createLockableDatabase } from './support/database.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, metricValue, publish } from './support/mqtt.js';

describe('PostgreSQL going away and coming back', () => {
  let database: Awaited<ReturnType<typeof createLockableDatabase>>;
  let gateway: TestGateway;

  beforeAll(async () => {
    database = await createLockableDatabase();
    gateway = await startGateway({ ...database.env, READINGS_FLUSH_MS: '100' });
  });
  afterAll(async () => {
    closeAllClients();
    await closeAllDevices();
    await database.letIn();
    await gateway.close();
    await database.drop();
  });

  it('reports it down, keeps delivering live, queues readings and writes them all when it is back', async () => {
    const service = gateway.token('svc', { role: 'service' });
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'out-1', name: 'Out', type: 't' })).status).toBe(201);
    expect((await api(gateway.url, 'GET', '/health')).body.checks.database).toEqual({ status: 'up', detail: 'postgres' });
    const viewer = await connectAs(gateway.url, gateway.token('viewer'));
    await viewer.emitWithAck('subscribe', { topic: 'sensor:out-1' });
    const log = recordEvents(viewer);

    await database.lockOut();
    await eventually(async () => {
      const health = await api(gateway.url, 'GET', '/health');
      expect(health.status).toBe(503);
      expect(health.body.checks.database.status).toBe('down');
    });
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 20; i++)
      expect((await api(gateway.url, 'POST', '/readings', service, { sensorId: 'out-1', metric: 'm', value: i, ts: t0 + i })).status).toBe(202);
    // Live delivery does not wait for the database.
    await log.until(countOf('reading:new', 20));
    await eventually(async () => {
      const text = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
      expect(metricValue(text, 'readings_write_queue_depth')).toBe(20);
      expect(metricValue(text, 'readings_write_errors_total')).toBeGreaterThan(0);
    });
    // What needs the database fails plainly meanwhile.
    expect((await api(gateway.url, 'GET', '/locations', service)).status).toBe(500);
    // A sensor known from memory stays served past the cache's 2 s (its re-read fails in the background): still accepted and queued.
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    for (let i = 20; i < 25; i++)
      expect((await api(gateway.url, 'POST', '/readings', service, { sensorId: 'out-1', metric: 'm', value: i, ts: t0 + i })).status).toBe(202);
    // One the gateway has not seen cannot be admitted: refused with a clear answer (not 202), delivered live, not queued.
    const unknown = await api(gateway.url, 'POST', '/readings', service, { sensorId: 'out-new', metric: 'm', value: 1 });
    expect(unknown.status).toBe(503);
    expect(unknown.body).toMatchObject({ statusCode: 503, code: 'INTERNAL_ERROR' });
    const sensor = await device(gateway.mqttUrl);
    await publish(sensor, `${gateway.config.mqtt.topicPrefix}sensors/out-new/m`, '2');
    await eventually(async () => {
      const text = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
      expect(metricValue(text, 'mqtt_messages_rejected_total{reason="store_unavailable"}')).toBe(1);
      expect(metricValue(text, 'readings_write_queue_depth')).toBe(25);
    });

    await database.letIn();
    await eventually(async () => expect((await api(gateway.url, 'GET', '/health')).status).toBe(200), { attempts: 100 });
    const stored = await api<ReadingPayload[]>(gateway.url, 'GET', '/readings?sensorId=out-1&metric=m&limit=100', service);
    expect(stored.body.map((r) => r.value)).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i));
    const text = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
    expect(metricValue(text, 'readings_write_queue_depth')).toBe(0);
    expect(metricValue(text, 'readings_dropped_total{reason="write_failed"}')).toBe(0);
  });
});
