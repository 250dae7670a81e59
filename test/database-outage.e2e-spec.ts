import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReadingPayload } from '#contracts';
import { closeAllClients, connectAs, countOf, recordEvents } from './support/clients.js';
import { createLockableDatabase } from './support/database.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { metricValue } from './support/mqtt.js';

describe('PostgreSQL going away and coming back', () => {
  let database: Awaited<ReturnType<typeof createLockableDatabase>>;
  let gateway: TestGateway;

  beforeAll(async () => {
    database = await createLockableDatabase();
    gateway = await startGateway({ ...database.env, READINGS_FLUSH_MS: '100' });
  });
  afterAll(async () => {
    closeAllClients();
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
    // What needs the database fails plainly meanwhile (sensors just read stay served from memory for 2 s).
    expect((await api(gateway.url, 'GET', '/locations', service)).status).toBe(500);

    await database.letIn();
    await eventually(async () => expect((await api(gateway.url, 'GET', '/health')).status).toBe(200), { attempts: 100 });
    const stored = await api<ReadingPayload[]>(gateway.url, 'GET', '/readings?sensorId=out-1&metric=m&limit=100', service);
    expect(stored.body.map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => 19 - i));
    const text = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
    expect(metricValue(text, 'readings_write_queue_depth')).toBe(0);
    expect(metricValue(text, 'readings_dropped_total{reason="write_failed"}')).toBe(0);
  });
});
