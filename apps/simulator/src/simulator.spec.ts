import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { closeAllClients, connectAs, countOf, recordEvents } from '../../../test/support/clients.js';
import { startGateway, type TestGateway } from '../../../test/support/gateway.js';
import { sensorIdOf, simulate } from './simulator.js';

describe('simulator', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterAll(async () => {
    closeAllClients();
    await gateway.close();
  });

  it('publishes every sensor at the rate, and its readings reach the gateway', async () => {
    const viewer = await connectAs(gateway.url, gateway.token('viewer'));
    await viewer.emitWithAck('subscribe', { topic: 'readings' });
    const log = recordEvents(viewer);
    const stats = await simulate({
      url: gateway.mqttUrl,
      sensors: 3,
      rate: 20,
      metric: 'temperature',
      spikeProbability: 0,
      prefix: '',
      qos: 1,
      durationSeconds: 0.5,
    });
    expect(stats.published % 3).toBe(0);
    expect(stats.published).toBeGreaterThanOrEqual(3);
    await log.until(countOf('reading:new', stats.published));
    const sensors = new Set(log.filter((e) => e.event === 'reading:new').map((e) => (e.payload as { sensorId: string }).sensorId));
    expect([...sensors].sort()).toEqual([sensorIdOf(0), sensorIdOf(1), sensorIdOf(2)]);
  });
});
