import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { closeAllClients, connectAs, client, connectError, disconnected, nextEvent } from './support/clients.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, metricValue, publish } from './support/mqtt.js';
import { closeAllPlain, connectPlain, wsUrl } from './support/plain-ws.js';

/** Every line of a Prometheus text exposition is a comment or `name{labels} value`. */
function expectPrometheusText(text: string): void {
  const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/;
  for (const line of text.trim().split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    expect({ line, ok: sample.test(line) }).toEqual({ line, ok: true });
  }
}

describe('operations: metrics, stats, publish, test event', () => {
  let gateway: TestGateway;
  let admin: string;
  const scrape = async () => (await fetch(`${gateway.url}/api/v1/metrics`)).text();

  beforeAll(async () => {
    gateway = await startGateway();
    admin = gateway.token('root', { role: 'admin' });
  });
  afterEach(async () => {
    closeAllClients();
    closeAllPlain();
    await closeAllDevices();
  });
  afterAll(() => gateway.close());

  it('serves Prometheus text whose counters move as clients act', async () => {
    const before = await scrape();
    expectPrometheusText(before);
    expect(before).toContain('process_cpu_seconds_total');

    const socket = await connectAs(gateway.url, gateway.token('metered'));
    await socket.emitWithAck('subscribe', { topic: 'readings' });
    const plain = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('metered')}`));
    plain.send({ type: 'ping' });
    await plain.next((m) => m.type === 'pong');
    await connectError(client(gateway.url, { auth: { token: 'bad' } }));
    const reading = nextEvent(socket, 'reading:new');
    await publish(await device(gateway.mqttUrl), 'sensors/metered-1/temp', '5');
    await reading;

    const after = await scrape();
    expectPrometheusText(after);
    const delta = (series: string) => metricValue(after, series) - metricValue(before, series);
    expect(metricValue(after, 'realtime_connections{protocol="socketio"}')).toBe(1);
    expect(metricValue(after, 'realtime_connections{protocol="ws"}')).toBe(1);
    expect(metricValue(after, 'realtime_connected_users')).toBe(1);
    expect(metricValue(after, 'realtime_handshake_failures_total{protocol="socketio",code="TOKEN_INVALID"}')).toBe(1);
    expect(metricValue(after, 'realtime_events_in_total{protocol="socketio",event="subscribe"}')).toBe(1);
    expect(metricValue(after, 'realtime_events_in_total{protocol="ws",event="ping"}')).toBe(1);
    expect(metricValue(after, 'realtime_events_out_total{event="reading:new"}')).toBeGreaterThanOrEqual(1);
    expect(delta('mqtt_messages_accepted_total')).toBe(1);
    expect(metricValue(after, 'realtime_reading_delivery_seconds_count')).toBeGreaterThanOrEqual(1);
    // No label carries a user, sensor or topic id.
    expect(after).not.toContain('metered');
  });

  it('reports connections, users and subscribers per topic, and follows disconnects', async () => {
    const a = await connectAs(gateway.url, gateway.token('stat-a'));
    await a.emitWithAck('subscribe', { topic: 'sensor:stat-1' });
    await a.emitWithAck('subscribe', { topic: 'general' });
    const b = await connectAs(gateway.url, gateway.token('stat-b'));
    await b.emitWithAck('subscribe', { topic: 'sensor:stat-1' });
    await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('stat-a')}&topics=sensor:stat-1`));

    const stats = await api(gateway.url, 'GET', '/ws/stats', admin);
    expect(stats.body).toEqual({
      instances: 1,
      connections: 3,
      connectionsByProtocol: { socketio: 2, ws: 1, sse: 0 },
      users: 2,
      topics: { 'sensor:stat-1': { subscribers: 3 }, general: { subscribers: 1 } },
      total_channels: 2,
      channels: { 'sensor:stat-1': { connections: 3 }, general: { connections: 1 } },
    });
    expect((await api(gateway.url, 'GET', '/ws/stats/sensor:stat-1', admin)).body).toEqual({ topic: 'sensor:stat-1', subscribers: 3, connections: 3 });
    expect((await api(gateway.url, 'GET', '/ws/stats/anomalies', admin)).body).toEqual({ topic: 'anomalies', subscribers: 0, connections: 0 });
    expect((await api(gateway.url, 'GET', '/ws/stats/nonsense', admin)).status).toBe(404);
    expect((await api(gateway.url, 'GET', '/ws/stats', gateway.token('nosy'))).status).toBe(403);

    const gone = disconnected(b);
    b.disconnect();
    await gone;
    await eventually(async () => expect((await api(gateway.url, 'GET', '/ws/stats/sensor:stat-1', admin)).body.subscribers).toBe(2));
    expect((await api(gateway.url, 'GET', '/ws/stats', admin)).body).toMatchObject({ connections: 2, users: 1 });
  });

  it('publishes a contract event to a topic on both protocols, and refuses unknown events and wrong payloads', async () => {
    const service = gateway.token('svc', { role: 'service' });
    const io = await connectAs(gateway.url, gateway.token('listener'));
    await io.emitWithAck('subscribe', { topic: 'sensor:pub-1' });
    const plain = await connectPlain(wsUrl(gateway.url, '/ws', `token=${gateway.token('listener')}&topics=sensor:pub-1`));
    const data = { sensorId: 'pub-1', metric: 'flow', model: 'external', points: [{ ts: 1, value: 2 }], ts: 3 };
    const viaIo = nextEvent(io, 'prediction:completed');
    const viaPlain = plain.next((m) => m.event === 'prediction:completed');

    expect(await api(gateway.url, 'POST', '/publish', service, { topic: 'sensor:pub-1', event: 'prediction:completed', data })).toEqual({
      status: 202,
      body: { published: { topic: 'sensor:pub-1', event: 'prediction:completed' } },
    });
    expect(await viaIo).toEqual(data);
    expect((await viaPlain).payload).toEqual(data);

    const refused: [object, number, string[] | undefined][] = [
      [{ topic: 'general', event: 'reading:old', data: {} }, 400, ['event must be an event of the shared event map']],
      [{ topic: 'general', event: 'rank:updated', data: { oldRank: 'first' } }, 400, ['data.oldRank must be a finite number', 'data.newRank is required']],
      [{ topic: 'general', event: 'rank:updated', data: { oldRank: 1, newRank: 2, extra: 1 } }, 400, ['data.extra is not allowed']],
      [{ topic: 'user:listener', event: 'rank:updated', data: { oldRank: 1, newRank: 2 } }, 400, undefined],
      [{ topic: 'general', event: 'rank:updated' }, 400, undefined],
    ];
    for (const [body, status, message] of refused) {
      const response = await api(gateway.url, 'POST', '/publish', service, body);
      expect(response.status).toBe(status);
      if (message) expect(response.body).toEqual({ statusCode: 400, code: 'VALIDATION_FAILED', message: 'The request is not valid', details: message });
    }
    expect(
      (await api(gateway.url, 'POST', '/publish', gateway.token('plain-user'), { topic: 'general', event: 'rank:updated', data: { oldRank: 1, newRank: 2 } }))
        .status,
    ).toBe(403);
  });

  it('sends a test system:event to system subscribers (admins), or to the named topic', async () => {
    const watcher = await connectAs(gateway.url, admin);
    await watcher.emitWithAck('subscribe', { topic: 'system' });
    const event = nextEvent(watcher, 'system:event');
    expect((await api(gateway.url, 'POST', '/ws/test-event', admin, { message: 'hello ops' })).status).toBe(202);
    expect(await event).toEqual({ level: 'info', message: 'hello ops', data: { test: true }, timestamp: expect.any(String) });

    const general = await connectAs(gateway.url, gateway.token('everyone'));
    await general.emitWithAck('subscribe', { topic: 'general' });
    const onGeneral = nextEvent(general, 'system:event');
    await api(gateway.url, 'POST', '/ws/test-event', admin, { topic: 'general', message: 'to all' });
    expect((await onGeneral).message).toBe('to all');
    expect((await api(gateway.url, 'POST', '/ws/test-event', gateway.token('svc', { role: 'service' }), { message: 'x' })).status).toBe(403);
    expect((await api(gateway.url, 'POST', '/ws/test-event', admin, {})).status).toBe(400);
  });
});
