import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/browser.js';
import { closeAllClients, client, connectAs, connectError, recordEvents, type TestSocket } from './support/clients.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, publish } from './support/mqtt.js';
import { closeAllPlain, connectPlain, refusedPlain, wsUrl, type PlainClient } from './support/plain-ws.js';
import { TcpProxy } from './support/tcp-proxy.js';

/** The sensor module's own clients, kept as its documentation wrote them (test/compat/). */
const PAGE_DIR = resolve('test/compat/page');
const LISTENER = resolve('test/compat/sensor_listener.py');
/** Debian's interpreter with python3-websockets (a pyenv `python3` on PATH may lack it). */
const PYTHON = process.env.SYSTEM_PYTHON ?? '/usr/bin/python3';

/** Runs the sensor module's Python listener; `lines` fills with what it prints. */
function runListener(url: string): { child: ChildProcess; lines: string[]; errors: () => string } {
  const child = spawn(PYTHON, [LISTENER, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let pending = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.split('\n');
    pending = complete.pop()!;
    lines.push(...complete);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, lines, errors: () => stderr };
}

/** The first message already received that matches, or the next one. */
function seen(reader: PlainClient, predicate: (message: any) => boolean): Promise<any> {
  const earlier = reader.messages.find(predicate);
  return earlier === undefined ? reader.next(predicate) : Promise.resolve(earlier);
}

const children: ChildProcess[] = [];
function stopChildren(): void {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGTERM');
}

describe('the sensor module dialect on /api/v1/ws and /api/v1/ws/secure (CONTRACT.md §14)', () => {
  let gateway: TestGateway;
  let admin: string;

  beforeAll(async () => {
    gateway = await startGateway({ WS_PUBLIC_CHANNELS: 'general,sensors', DASHBOARD_DIR: PAGE_DIR, WS_MAX_CONNECTIONS_PER_IP: '20' });
    admin = gateway.token('ops', { role: 'admin' });
  });
  afterEach(async () => {
    stopChildren();
    closeAllPlain();
    closeAllClients();
    await closeAllDevices();
  });
  afterAll(() => gateway.close());

  it('greets with the connection frame naming the channels, on both paths', async () => {
    const token = gateway.token('greeted');
    const one = await connectPlain(wsUrl(gateway.url, '/api/v1/ws', `channel=sensors&token=${token}`));
    expect(one.messages[0]).toEqual({ type: 'connection', status: 'connected', channel: 'sensors', channels: ['sensors'], timestamp: expect.any(String) });
    expect(Number.isNaN(Date.parse(one.messages[0].timestamp))).toBe(false);
    const several = await connectPlain(wsUrl(gateway.url, '/api/v1/ws/secure', `channels=sensors,locations&token=${token}`));
    expect(several.messages[0]).toMatchObject({ type: 'connection', status: 'connected', channel: 'sensors,locations', channels: ['sensors', 'locations'] });
    // /ws keeps its own frames (CONTRACT.md §4).
    const plain = await connectPlain(wsUrl(gateway.url, '/ws', `channel=sensors&token=${token}`));
    expect(plain.messages[0]).toMatchObject({ type: 'connection', userId: 'greeted', topics: ['sensors'] });
  });

  it('flattens REST writes, readings, anomalies, forecasts, system and user events', async () => {
    const token = gateway.token('flat-reader');
    const sensors = await connectPlain(wsUrl(gateway.url, '/api/v1/ws/secure', `channels=sensors,sensor:flat-1,anomalies,predictions&token=${token}`));

    const created = sensors.next((m) => m.type === 'entity_event' && m.entity_type === 'sensor');
    expect((await api(gateway.url, 'POST', '/sensors', admin, { id: 'flat-1', name: 'Flat', type: 'thermometer', unit: 'C' })).status).toBe(201);
    expect(await created).toEqual({
      type: 'entity_event',
      entity_type: 'sensor',
      event_type: 'created',
      entity_id: 'flat-1',
      data: expect.objectContaining({ id: 'flat-1', name: 'Flat' }),
      timestamp: expect.any(String),
      // The section 9 positions, of the streams of the publication this client holds.
      positions: { sensors: expect.any(Number), 'sensor:flat-1': expect.any(Number) },
      epoch: { sensors: expect.any(String), 'sensor:flat-1': expect.any(String) },
    });

    // Readings, then a spike: a created reading per value, an anomaly_detected, and a forecast every 10.
    const meter = await device(gateway.mqttUrl);
    for (let i = 0; i < 12; i++) await publish(meter, 'sensors/flat-1/temperature', String(20 + (i % 2) * 0.1));
    await publish(meter, 'sensors/flat-1/temperature', '95');
    const reading = await seen(sensors, (m) => m.entity_type === 'reading');
    expect(reading).toEqual({
      type: 'entity_event',
      entity_type: 'reading',
      event_type: 'created',
      entity_id: 'flat-1',
      data: { sensorId: 'flat-1', metric: 'temperature', value: 20, ts: expect.any(Number) },
      timestamp: new Date(reading.data.ts).toISOString(),
      metadata: { sensor_id: 'flat-1' },
      // Published to `readings` and `sensor:flat-1`; this client holds only the latter.
      positions: { 'sensor:flat-1': expect.any(Number) },
      epoch: { 'sensor:flat-1': expect.any(String) },
    });
    const anomaly = await seen(sensors, (m) => m.entity_type === 'anomaly');
    expect(anomaly).toMatchObject({
      type: 'entity_event',
      event_type: 'anomaly_detected',
      entity_id: expect.any(String),
      data: { sensorId: 'flat-1', value: 95 },
      metadata: { sensor_id: 'flat-1' },
    });
    expect(anomaly.entity_id).toBe(anomaly.data.id);
    const forecast = await seen(sensors, (m) => m.entity_type === 'prediction');
    expect(forecast).toMatchObject({
      type: 'entity_event',
      event_type: 'prediction_completed',
      entity_id: 'flat-1',
      data: { sensorId: 'flat-1', metric: 'temperature' },
    });
    // Each event once, even though sensor:flat-1 and anomalies both carry the anomaly.
    const pong = sensors.next((m) => m.type === 'pong');
    sensors.send({ type: 'ping' });
    await pong;
    expect(sensors.messages.filter((m) => m.entity_type === 'anomaly')).toHaveLength(1);

    // test-event in both forms: a flat system_event.
    const system = sensors.next((m) => m.type === 'system_event');
    expect((await api(gateway.url, 'POST', '/ws/test-event?channel=sensors&message=from%20the%20query', admin)).status).toBe(202);
    expect(await system).toEqual({
      type: 'system_event',
      level: 'info',
      message: 'from the query',
      data: { test: true },
      timestamp: expect.any(String),
      positions: { sensors: expect.any(Number) },
      epoch: { sensors: expect.any(String) },
    });

    // A user event, flattened under its own name (it goes to the user room, joined with the token).
    const xp = sensors.next((m) => m.type === 'xp:gained');
    gateway.websocket.emitXpGained('flat-reader', { amount: 5, source: 'quiz', totalXp: 15 });
    expect(await xp).toEqual({
      type: 'xp:gained',
      amount: 5,
      source: 'quiz',
      totalXp: 15,
      positions: { 'user:flat-reader': expect.any(Number) },
      epoch: { 'user:flat-reader': expect.any(String) },
    });
  });

  it('takes test-event in the query form as in the body form, validated the same way, admins only', async () => {
    const general = await connectPlain(wsUrl(gateway.url, '/api/v1/ws', `channel=general&token=${gateway.token('te-reader')}`));
    const event = general.next((m) => m.type === 'system_event');
    expect(await api(gateway.url, 'POST', '/ws/test-event?channel=general&message=query%20form', admin)).toEqual({
      status: 202,
      body: { published: { topic: 'general', event: 'system:event' } },
    });
    expect((await event).message).toBe('query form');
    const refused: [string, object | undefined, string[]][] = [
      ['?channel=general', undefined, ['message must be a non-empty string (in the body or as ?message=)']],
      ['?channel=general&message=', undefined, ['message should not be empty']],
      [
        '?channel=user:victim&message=x',
        undefined,
        ['topic must be a topic (general, sensors, readings, locations, anomalies, predictions, system, sensor:<id>)'],
      ],
      ['?channel=nope&message=x', undefined, ['topic must be a topic (general, sensors, readings, locations, anomalies, predictions, system, sensor:<id>)']],
      ['?channel=general&message=x', { topic: 'sensors' }, ['topic and ?channel= name different topics']],
      ['?message=x', { message: 'y' }, ['message and ?message= differ']],
      [`?channel=general&message=${'m'.repeat(2001)}`, undefined, ['message must be shorter than or equal to 2000 characters']],
    ];
    for (const [query, body, details] of refused) {
      const response = await api(gateway.url, 'POST', `/ws/test-event${query}`, admin, body);
      expect({ query, response }).toEqual({
        query,
        response: { status: 400, body: { statusCode: 400, code: 'VALIDATION_FAILED', message: 'The request is not valid', details } },
      });
    }
    expect((await api(gateway.url, 'POST', '/ws/test-event?channel=general&message=x', gateway.token('not-admin'))).status).toBe(403);
    expect((await api(gateway.url, 'POST', '/ws/test-event?channel=general&message=x')).status).toBe(401);
    // Nothing refused was published.
    const pong = general.next((m) => m.type === 'pong');
    general.send({ type: 'ping' });
    await pong;
    expect(general.messages.filter((m) => m.type === 'system_event')).toHaveLength(1);
  });

  it('answers sub, unsub and ping as /ws does', async () => {
    const reader = await connectPlain(wsUrl(gateway.url, '/api/v1/ws', `token=${gateway.token('frames')}`));
    reader.send({ type: 'sub', topic: 'locations' });
    expect(await reader.next((m) => m.type === 'ack')).toEqual({
      type: 'ack',
      op: 'sub',
      topic: 'locations',
      epoch: expect.any(String),
      offset: expect.any(Number),
      recovered: false,
    });
    const created = reader.next((m) => m.type === 'entity_event');
    expect((await api(gateway.url, 'POST', '/locations', admin, { id: 'hall-d', name: 'Hall' })).status).toBe(201);
    expect(await created).toMatchObject({ entity_type: 'location', event_type: 'created', entity_id: 'hall-d' });
    reader.send({ type: 'unsub', topic: 'locations' });
    expect(await reader.next((m) => m.type === 'ack' && m.op === 'unsub')).toEqual({ type: 'ack', op: 'unsub', topic: 'locations' });
    reader.send({ type: 'sub', topic: 'system' });
    expect(await reader.next((m) => m.type === 'error')).toEqual({ type: 'error', code: 'FORBIDDEN', message: 'Not allowed' });
    reader.send({ type: 'ping' });
    expect(await reader.next((m) => m.type === 'pong')).toEqual({ type: 'pong', ts: expect.any(Number) });
  });

  it('runs the sensor module Python listener unchanged (python3-websockets), with a token on /secure and without one on a public channel', async () => {
    if (!existsSync(PYTHON)) throw new Error(`No ${PYTHON}: apt-get install python3 python3-websockets`);
    const secure = runListener(wsUrl(gateway.url, '/api/v1/ws/secure', `channel=sensors&token=${gateway.token('py-user')}`));
    const open = runListener(wsUrl(gateway.url, '/api/v1/ws', 'channel=sensors'));
    children.push(secure.child, open.child);
    for (const listener of [secure, open]) {
      await eventually(async () =>
        expect({ lines: listener.lines, stderr: listener.errors() }).toEqual({ lines: ['Connected to channel sensors'], stderr: '' }),
      );
    }

    expect((await api(gateway.url, 'POST', '/sensors', admin, { id: 'py-1', name: 'Py', type: 'hygrometer' })).status).toBe(201);
    expect((await api(gateway.url, 'PATCH', '/sensors/py-1', admin, { name: 'Py two' })).status).toBe(200);
    expect((await api(gateway.url, 'POST', '/ws/test-event', admin, { topic: 'sensors', message: 'hello listeners' })).status).toBe(202);
    for (const listener of [secure, open]) {
      await eventually(async () =>
        expect(listener.lines).toEqual([
          'Connected to channel sensors',
          'Entity event: sensor created py-1',
          'Entity event: sensor updated py-1',
          'System event: [info] hello listeners',
        ]),
      );
    }
  });

  it('runs the sensor module test page unchanged in Chromium, served on the gateway origin', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page: Page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.setDefaultTimeout(10_000);
      await page.goto(`${gateway.url}/`);
      await page.locator('#status', { hasText: 'connected to sensors' }).waitFor();

      expect((await api(gateway.url, 'POST', '/sensors', admin, { id: 'web-1', name: 'Web', type: 'barometer' })).status).toBe(201);
      expect((await api(gateway.url, 'DELETE', '/sensors/web-1', admin)).status).toBe(200);
      expect((await api(gateway.url, 'POST', '/ws/test-event?channel=sensors&message=hello%20page', admin)).status).toBe(202);
      await page.locator('li.system[data-level="info"]', { hasText: 'hello page' }).waitFor();
      const entities = await page
        .locator('li.entity')
        .evaluateAll((items) =>
          items.map((item) => `${item.getAttribute('data-entity-type')} ${item.getAttribute('data-event-type')} ${item.getAttribute('data-entity-id')}`),
        );
      expect(entities).toEqual(['sensor created web-1', 'sensor deleted web-1']);
      expect(errors).toEqual([]);
    } finally {
      await browser?.close();
    }
  }, 60_000);

  describe('public channels (WS_PUBLIC_CHANNELS=general,sensors)', () => {
    it('lets a tokenless client read a public channel, and only those, on /api/v1/ws', async () => {
      const open = await connectPlain(wsUrl(gateway.url, '/api/v1/ws', 'channels=general,sensors'));
      expect(open.messages[0]).toMatchObject({ type: 'connection', status: 'connected', channel: 'general,sensors' });
      const refusal = { status: 401, body: { statusCode: 401, code: 'TOKEN_MISSING', message: 'Unauthorized' } };
      for (const query of [
        '',
        'channel=anomalies',
        'channel=system',
        'channel=user:victim',
        'channels=general,readings',
        'channel=sensor:pub-x',
        'channel=nope',
      ]) {
        expect({ query, refused: await refusedPlain(wsUrl(gateway.url, '/api/v1/ws', query)) }).toEqual({ query, refused: refusal });
      }
      // /secure and /ws always need a token.
      expect(await refusedPlain(wsUrl(gateway.url, '/api/v1/ws/secure', 'channel=general'))).toEqual(refusal);
      expect(await refusedPlain(wsUrl(gateway.url, '/ws', 'channel=general'))).toEqual(refusal);
    });

    it('lets a tokenless client send nothing but ping, and never reach a user room, system or a broadcast', async () => {
      const open = await connectPlain(wsUrl(gateway.url, '/api/v1/ws', 'channel=general'));
      const refusedBefore = await refusedCount();
      for (const frame of [
        { type: 'sub', topic: 'anomalies' },
        { type: 'sub', topic: 'general' },
        { type: 'unsub', topic: 'general' },
        { type: 'sub', topic: 'user:anonymous' },
      ]) {
        open.send(frame);
        expect(await open.next((m) => m.type === 'error')).toEqual({ type: 'error', code: 'FORBIDDEN', message: 'Not allowed' });
      }
      expect(await refusedCount()).toBe(refusedBefore + 4);
      open.send({ type: 'ping' });
      expect(await open.next((m) => m.type === 'pong')).toMatchObject({ type: 'pong' });

      // Still subscribed to general after the refused unsub; user events, system and broadcasts never arrive.
      gateway.websocket.emitXpGained('anonymous', { amount: 1, source: 'x', totalXp: 1 });
      gateway.websocket.broadcastLeaderboardUpdate({ leaderboard: [] });
      await api(gateway.url, 'POST', '/ws/test-event', admin, { message: 'admins only' });
      const onGeneral = open.next((m) => m.type === 'system_event');
      await api(gateway.url, 'POST', '/ws/test-event?channel=general&message=for%20everyone', admin);
      expect((await onGeneral).message).toBe('for everyone');
      expect(open.messages.filter((m) => m.type !== 'error' && m.type !== 'pong').map((m) => m.type)).toEqual(['connection', 'system_event']);
    });

    it('counts tokenless clients in the stats, in both shapes', async () => {
      const open = await Promise.all(Array.from({ length: 3 }, () => connectPlain(wsUrl(gateway.url, '/api/v1/ws', 'channel=general'))));
      const stats = await api(gateway.url, 'GET', '/ws/stats', admin);
      expect(stats.body.channels.general).toEqual({ connections: 3 });
      expect(stats.body.total_channels).toBe(Object.keys(stats.body.topics).length);
      expect((await api(gateway.url, 'GET', '/ws/stats/general', admin)).body).toEqual({ topic: 'general', subscribers: 3, connections: 3 });
      expect(stats.body.connectionsByProtocol.ws).toBeGreaterThanOrEqual(open.length);
    });
  });

  it('resumes on /api/v1/ws after a drop as on /ws: the missed frames in order, once, after the ack, then live ones', async () => {
    const proxy = await TcpProxy.start(Number(new URL(gateway.url).port));
    try {
      const token = gateway.token('resumer');
      const viaProxy = (query: string) => wsUrl(`http://${proxy.url}`, '/api/v1/ws', query);
      const say = (message: string) => gateway.websocket.emitSystemEvent('info', message, undefined, 'sensor:resume-1');
      const first = await connectPlain(viaProxy(`channel=sensor:resume-1&token=${token}`));
      for (const n of [1, 2, 3]) say(`before ${n}`);
      await eventually(async () => expect(first.messages.filter((m) => m.type === 'system_event')).toHaveLength(3));
      const last = first.messages.filter((m) => m.type === 'system_event').at(-1);
      const since = { epoch: last.epoch['sensor:resume-1'], offset: last.positions['sensor:resume-1'] };

      proxy.drop();
      await first.closed;
      for (const n of [1, 2, 3, 4, 5]) say(`missed ${n}`);
      proxy.restore();

      const second = await connectPlain(viaProxy(`token=${token}`));
      second.send({ type: 'sub', topic: 'sensor:resume-1', since });
      expect(await second.next((m) => m.type === 'ack')).toEqual({
        type: 'ack',
        op: 'sub',
        topic: 'sensor:resume-1',
        epoch: since.epoch,
        offset: since.offset + 5,
        recovered: true,
      });
      say('after 1');
      await eventually(async () => expect(second.messages.filter((m) => m.type === 'system_event')).toHaveLength(6));
      const afterAck = second.messages.slice(second.messages.findIndex((m) => m.type === 'ack') + 1);
      expect(afterAck.map((m) => [m.message, m.positions['sensor:resume-1'], m.epoch['sensor:resume-1']])).toEqual(
        ['missed 1', 'missed 2', 'missed 3', 'missed 4', 'missed 5', 'after 1'].map((message, k) => [message, since.offset + 1 + k, since.epoch]),
      );

      // A position from another epoch cannot be resumed: recovered false, nothing replayed.
      const third = await connectPlain(viaProxy(`token=${token}`));
      third.send({ type: 'sub', topic: 'sensor:resume-1', since: { epoch: 'not-this', offset: 1 } });
      expect(await third.next((m) => m.type === 'ack')).toMatchObject({ recovered: false, epoch: since.epoch, offset: since.offset + 6 });
      const pong = third.next((m) => m.type === 'pong');
      third.send({ type: 'ping' });
      await pong;
      expect(third.messages.filter((m) => m.type === 'system_event')).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  async function refusedCount(protocol = 'ws'): Promise<number> {
    const text = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
    return Number(new RegExp(`^realtime_events_refused_total\\{protocol="${protocol}",code="FORBIDDEN"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  }
});

describe('public channels on Socket.IO (WS_PUBLIC_CHANNELS=general,sensors)', () => {
  let gateway: TestGateway;
  let admin: string;
  beforeAll(async () => {
    gateway = await startGateway({ WS_PUBLIC_CHANNELS: 'general,sensors' });
    admin = gateway.token('ops', { role: 'admin' });
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  const connected = (socket: TestSocket): Promise<void> =>
    new Promise((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
      socket.connect();
    });

  it('lets a tokenless client read the public channels it names at the handshake, and nothing else', async () => {
    const reader = client(gateway.url, { auth: { channels: ['sensors'] } });
    const events = recordEvents(reader);
    await connected(reader);
    await eventually(async () => expect((await api(gateway.url, 'GET', '/ws/stats', admin)).body.channels.sensors).toEqual({ connections: 1 }));

    let meta: unknown;
    reader.once('sensor:created', (_payload, received) => (meta = received));
    expect((await api(gateway.url, 'POST', '/sensors', admin, { id: 'sio-1', name: 'Sio', type: 'thermometer' })).status).toBe(201);
    await events.until((log) => log.some((e) => e.event === 'sensor:created'));
    expect(events.find((e) => e.event === 'sensor:created')!.payload).toMatchObject({
      type: 'entity_event',
      entity_type: 'sensor',
      event_type: 'created',
      entity_id: 'sio-1',
    });
    expect(meta).toEqual({ positions: { sensors: expect.any(Number) }, epoch: { sensors: expect.any(String) } });

    // Nothing it sends is accepted: known events are FORBIDDEN, unknown ones UNKNOWN_EVENT; all counted.
    const before = await refusedSio('FORBIDDEN');
    const forbidden = { ok: false, error: { code: 'FORBIDDEN', message: 'Not allowed' } };
    expect(await reader.emitWithAck('subscribe', { topic: 'general' })).toEqual(forbidden);
    expect(await reader.emitWithAck('unsubscribe', { topic: 'sensors' })).toEqual(forbidden);
    expect(await reader.emitWithAck('notification:mark_all_read', {})).toEqual(forbidden);
    expect(await reader.emitWithAck('auth:refresh', { token: gateway.token('anonymous') })).toEqual(forbidden);
    expect(await (reader as unknown as { emitWithAck(event: string, body: unknown): Promise<unknown> }).emitWithAck('hello', {})).toEqual({
      ok: false,
      error: { code: 'UNKNOWN_EVENT', message: 'Unknown event' },
    });
    expect(await refusedSio('FORBIDDEN')).toBe(before + 4);

    // No user room, no system, no broadcast, no channel it did not name; its channel still works.
    gateway.websocket.emitXpGained('anonymous', { amount: 1, source: 'x', totalXp: 1 });
    gateway.websocket.broadcastLeaderboardUpdate({ leaderboard: [] });
    await api(gateway.url, 'POST', '/ws/test-event', admin, { message: 'admins only' });
    await api(gateway.url, 'POST', '/ws/test-event', admin, { topic: 'general', message: 'not named' });
    await api(gateway.url, 'POST', '/ws/test-event', admin, { topic: 'sensors', message: 'last' });
    await events.until((log) => log.some((e) => e.event === 'system:event'));
    expect(events.map((e) => e.event)).toEqual(['sensor:created', 'system:event']);
    expect(events[1]!.payload).toMatchObject({ message: 'last' });
  });

  it('refuses a tokenless handshake naming no channel or any channel that is not public, as before', async () => {
    for (const options of [
      {},
      { auth: { channels: ['system'] } },
      { auth: { channels: ['general', 'anomalies'] } },
      { auth: { channels: ['user:ops'] } },
      { query: { channel: 'readings' } },
    ]) {
      const error = await connectError(client(gateway.url, options));
      expect({ options, message: error.message, data: error.data }).toEqual({ options, message: 'Unauthorized', data: { code: 'TOKEN_MISSING' } });
    }
    // ?channel= works as auth.channels does.
    await connected(client(gateway.url, { query: { channel: 'general' } }));
  });

  async function refusedSio(code: string): Promise<number> {
    const text = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
    return Number(new RegExp(`^realtime_events_refused_total\\{protocol="socketio",code="${code}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  }
});

describe('public channels, per-address cap', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway({ WS_PUBLIC_CHANNELS: 'sensors', WS_MAX_CONNECTIONS_PER_IP: '2' });
  });
  afterEach(() => {
    closeAllPlain();
    closeAllClients();
  });
  afterAll(() => gateway.close());

  it('refuses a tokenless client over the per-address cap, and frees its slot when one leaves', async () => {
    const first = await connectPlain(wsUrl(gateway.url, '/api/v1/ws', 'channel=sensors'));
    await connectPlain(wsUrl(gateway.url, '/api/v1/ws', 'channel=sensors'));
    expect(await refusedPlain(wsUrl(gateway.url, '/api/v1/ws', 'channel=sensors'))).toMatchObject({ status: 503, body: { code: 'TOO_MANY_CONNECTIONS' } });
    first.ws.close();
    await first.closed;
    await eventually(async () => expect((await connectPlain(wsUrl(gateway.url, '/api/v1/ws', 'channel=sensors'))).messages[0].status).toBe('connected'));
  });

  it('counts tokenless Socket.IO readers against the same cap', async () => {
    await connectPlain(wsUrl(gateway.url, '/api/v1/ws', 'channel=sensors'));
    const reader = client(gateway.url, { auth: { channels: ['sensors'] } });
    await new Promise<void>((resolve, reject) => {
      reader.once('connect', () => resolve());
      reader.once('connect_error', reject);
      reader.connect();
    });
    const third = await connectError(client(gateway.url, { auth: { channels: ['sensors'] } }));
    expect(third.data).toEqual({ code: 'TOO_MANY_CONNECTIONS' });
    expect(await refusedPlain(wsUrl(gateway.url, '/api/v1/ws', 'channel=sensors'))).toMatchObject({ status: 503, body: { code: 'TOO_MANY_CONNECTIONS' } });
  });
});

describe('without WS_PUBLIC_CHANNELS', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterEach(() => {
    closeAllPlain();
    closeAllClients();
  });
  afterAll(() => gateway.close());

  it('refuses every tokenless client, on every path and on Socket.IO, as before', async () => {
    const refusal = { status: 401, body: { statusCode: 401, code: 'TOKEN_MISSING', message: 'Unauthorized' } };
    for (const [path, query] of [
      ['/api/v1/ws', 'channel=general'],
      ['/api/v1/ws', 'channel=sensors'],
      ['/api/v1/ws/secure', 'channel=general'],
      ['/ws', 'topics=general'],
    ]) {
      expect({ path, refused: await refusedPlain(wsUrl(gateway.url, path!, query)) }).toEqual({ path, refused: refusal });
    }
    const error = await connectError(client(gateway.url));
    expect(error.message).toBe('Unauthorized');
    expect(error.data).toEqual({ code: 'TOKEN_MISSING' });
    // A token still works.
    expect((await connectAs(gateway.url, gateway.token('still-fine'))).connected).toBe(true);
  });
});
