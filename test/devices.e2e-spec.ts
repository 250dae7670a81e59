import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Aedes } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { EmbeddedBroker, InMemoryDeviceCredentialStore } from '#telemetry';
import { BrokerAccess, GATEWAY_USERNAME } from '../libs/telemetry/src/mqtt/broker-access.js';
import { generateDeviceToken, hashDeviceToken } from '../libs/telemetry/src/devices/device-token.js';
import { closeAllClients, connectAs, countOf, nextEvent, recordEvents } from './support/clients.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, metricValue, publish } from './support/mqtt.js';

/** Production rules: no NODE_ENV=development, so no anonymous devices. */
const PRODUCTION = { NODE_ENV: 'production', JWT_SECRET: 'devices-e2e-secret-of-at-least-32-characters' };

const open = new Set<MqttClient>();

/** A device that logs in; resolves once connected (CONNACK 0). */
async function login(url: string, options: IClientOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    clientId: `dev-${process.pid}-${Math.random().toString(36).slice(2)}`,
    ...options,
  });
  open.add(client);
  return client;
}

/** The CONNACK return code of a refused login. */
async function refusedLogin(url: string, options: IClientOptions): Promise<number> {
  const error = await login(url, options).then(
    () => {
      throw new Error('connected, expected a refusal');
    },
    (error: Error & { code?: number }) => error,
  );
  return error.code ?? -1;
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => (client.disconnected || !client.connected ? resolve() : client.once('close', () => resolve())));
}

describe('devices on the embedded broker (production rules)', () => {
  let gateway: TestGateway;
  let service: string;
  let metricsBefore: string;

  const rejected = async (reason: string): Promise<number> =>
    metricValue(await (await fetch(`${gateway.url}/api/v1/metrics`)).text(), `mqtt_messages_rejected_total{reason="${reason}"}`) -
    metricValue(metricsBefore, `mqtt_messages_rejected_total{reason="${reason}"}`);

  async function sensorWithToken(id: string): Promise<string> {
    expect((await api(gateway.url, 'POST', '/sensors', service, { id, name: id, type: 'test' })).status).toBe(201);
    const issued = await api(gateway.url, 'POST', `/sensors/${id}/credentials`, service);
    expect(issued.status).toBe(201);
    return issued.body.token as string;
  }

  beforeAll(async () => {
    gateway = await startGateway(PRODUCTION);
    service = gateway.token('provisioner', { role: 'service' });
  });
  beforeEach(async () => {
    metricsBefore = await (await fetch(`${gateway.url}/api/v1/metrics`)).text();
  });
  afterEach(async () => {
    closeAllClients();
    await closeAllDevices();
    await Promise.all([...open].map((client) => client.endAsync(true)));
    open.clear();
  });
  afterAll(() => gateway.close());

  it('refuses anonymous devices and counts them', async () => {
    expect(gateway.config.mqtt).toMatchObject({ allowAnonymous: false, brokerHost: '127.0.0.1' });
    expect(await refusedLogin(gateway.mqttUrl, {})).toBe(5);
    expect(await rejected('unauthorized')).toBe(1);
  });

  it('issues a token once to service or admin, for existing sensors only', async () => {
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'cred-1', name: 'Cred 1', type: 'test' })).status).toBe(201);
    expect((await api(gateway.url, 'POST', '/sensors/cred-1/credentials', gateway.token('someone'))).status).toBe(403);
    expect((await api(gateway.url, 'POST', '/sensors/cred-1/credentials')).status).toBe(401);
    expect((await api(gateway.url, 'POST', '/sensors/nope/credentials', service)).status).toBe(404);
    expect((await api(gateway.url, 'DELETE', '/sensors/nope/credentials', service)).status).toBe(404);
    const first = await api(gateway.url, 'POST', '/sensors/cred-1/credentials', gateway.token('root', { role: 'admin' }));
    expect(first).toEqual({ status: 201, body: { sensorId: 'cred-1', token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) } });
    expect(Buffer.from(first.body.token, 'base64url')).toHaveLength(32);
    const second = await api(gateway.url, 'POST', '/sensors/cred-1/credentials', service);
    expect(second.body.token).not.toBe(first.body.token);
    // The new token replaces the old one.
    expect(await refusedLogin(gateway.mqttUrl, { username: 'cred-1', password: first.body.token })).toBe(4);
    await login(gateway.mqttUrl, { username: 'cred-1', password: second.body.token });
  });

  it('ingests what a device publishes to its own topic, and refuses wrong tokens', async () => {
    const token = await sensorWithToken('dev-a');
    expect(await refusedLogin(gateway.mqttUrl, { username: 'dev-a', password: 'x'.repeat(43) })).toBe(4);
    expect(await refusedLogin(gateway.mqttUrl, { username: 'dev-b', password: token })).toBe(4);
    expect(await rejected('unauthorized')).toBe(2);

    const viewer = await connectAs(gateway.url, gateway.token('viewer'));
    await viewer.emitWithAck('subscribe', { topic: 'sensor:dev-a' });
    const reading = nextEvent(viewer, 'reading:new');
    const client = await login(gateway.mqttUrl, { username: 'dev-a', password: token });
    await client.publishAsync('sensors/dev-a/temp', '21.5', { qos: 1 });
    expect(await reading).toMatchObject({ sensorId: 'dev-a', metric: 'temp', value: 21.5 });
  });

  it.each<[string, string, string, { retain?: boolean }]>([
    ["another sensor's topic", 'sensors/dev-other/temp', 'unauthorized', {}],
    ['a retained message', 'sensors/dev-c/temp', 'retained', { retain: true }],
    ['a topic outside sensors/+/+', 'elsewhere/dev-c/temp', 'bad_topic', {}],
  ])('closes the connection of a device that publishes %s, and counts it', async (_what, topic, reason, options) => {
    const id = `dev-c-${reason}`;
    const token = await sensorWithToken(id);
    const viewer = await connectAs(gateway.url, gateway.token('viewer'));
    await viewer.emitWithAck('subscribe', { topic: 'readings' });
    const log = recordEvents(viewer);
    const client = await login(gateway.mqttUrl, { username: id, password: token });
    const gone = closed(client);
    client.publish(topic.replace('dev-c', id), '1', { qos: 0, ...options });
    await gone;
    expect(await rejected(reason)).toBe(1);
    // The connection is closed, the process keeps serving: a proper reading still arrives.
    const again = await login(gateway.mqttUrl, { username: id, password: token });
    await again.publishAsync(`sensors/${id}/temp`, '2', { qos: 1 });
    await log.until(countOf('reading:new'));
    expect(log.map((e) => e.payload)).toEqual([expect.objectContaining({ sensorId: id, value: 2 })]);
  });

  it("refuses a device's subscriptions with a SUBACK failure", async () => {
    const token = await sensorWithToken('dev-sub');
    const client = await login(gateway.mqttUrl, { username: 'dev-sub', password: token });
    const refusal = await client.subscribeAsync(['#', 'sensors/+/+']).catch((error: Error & { packet?: { granted: number[] } }) => error);
    expect(refusal).toMatchObject({ packet: { granted: [128, 128] } });
    expect(await rejected('subscribe_refused')).toBe(2);
    expect(client.connected).toBe(true);
  });

  it('cuts a connection that sends a packet over 64 KiB', async () => {
    const token = await sensorWithToken('dev-big');
    const client = await login(gateway.mqttUrl, { username: 'dev-big', password: token });
    const gone = closed(client);
    client.publish('sensors/dev-big/temp', Buffer.alloc(16 * 1024 * 1024, 0x31), { qos: 0 });
    await gone;
    expect(await rejected('too_large')).toBe(1);
    expect((await api(gateway.url, 'GET', '/health')).status).toBe(200);
  });

  it('revokes credentials: the device is disconnected at once and cannot log in again', async () => {
    const token = await sensorWithToken('dev-rev');
    const client = await login(gateway.mqttUrl, { username: 'dev-rev', password: token });
    const gone = closed(client);
    expect(await api(gateway.url, 'DELETE', '/sensors/dev-rev/credentials', gateway.token('someone'))).toMatchObject({ status: 403 });
    expect(await api(gateway.url, 'DELETE', '/sensors/dev-rev/credentials', service)).toEqual({ status: 200, body: { sensorId: 'dev-rev', revoked: true } });
    await gone;
    expect(await refusedLogin(gateway.mqttUrl, { username: 'dev-rev', password: token })).toBe(4);
    expect((await api(gateway.url, 'DELETE', '/sensors/dev-rev/credentials', service)).status).toBe(404);
  });

  it('revokes the credentials of a deleted sensor', async () => {
    const token = await sensorWithToken('dev-del');
    const client = await login(gateway.mqttUrl, { username: 'dev-del', password: token });
    const gone = closed(client);
    expect((await api(gateway.url, 'DELETE', '/sensors/dev-del', service)).status).toBe(200);
    await gone;
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'dev-del', name: 'again', type: 'test' })).status).toBe(201);
    expect(await refusedLogin(gateway.mqttUrl, { username: 'dev-del', password: token })).toBe(4);
  });

  it("does not let a client take the gateway's session: 20 QoS 1 readings all arrive while it tries", async () => {
    const token = await sensorWithToken('dev-qos');
    const gatewayId = gateway.config.mqtt.clientId;
    // The attack as it was made: the gateway's client id with a persistent session, no secret.
    expect(await refusedLogin(gateway.mqttUrl, { clientId: gatewayId, clean: false })).toBe(5);
    expect(await refusedLogin(gateway.mqttUrl, { clientId: gatewayId, clean: false, username: '$gateway', password: 'guessed' })).toBe(4);
    expect(await refusedLogin(gateway.mqttUrl, { clientId: gatewayId, clean: false, username: 'dev-qos', password: token })).toBe(5);

    const viewer = await connectAs(gateway.url, gateway.token('viewer'));
    await viewer.emitWithAck('subscribe', { topic: 'sensor:dev-qos' });
    const log = recordEvents(viewer);
    const client = await login(gateway.mqttUrl, { username: 'dev-qos', password: token });
    const attacks: Promise<number>[] = [];
    for (let i = 0; i < 20; i++) {
      attacks.push(refusedLogin(gateway.mqttUrl, { clientId: gatewayId, clean: false }));
      await client.publishAsync('sensors/dev-qos/level', String(i), { qos: 1 });
    }
    expect(await Promise.all(attacks)).toEqual(Array(20).fill(5));
    await log.until(countOf('reading:new', 20));
    expect(log.filter((e) => e.event === 'reading:new').map((e) => (e.payload as { value: number }).value)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const history = await api(gateway.url, 'GET', '/readings?sensorId=dev-qos&limit=100', service);
    expect(history.body).toHaveLength(20);
  });
});

describe('the demo feed under production rules', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ ...PRODUCTION, DEMO_FEED: 'true' });
  });
  afterEach(() => closeAllClients());
  afterAll(() => gateway.close());

  it("logs in with the gateway's own secret and has its sensor registered", async () => {
    const viewer = await connectAs(gateway.url, gateway.token('newcomer'));
    await viewer.emitWithAck('subscribe', { topic: 'sensor:demo-1' });
    expect(await nextEvent(viewer, 'reading:new')).toMatchObject({ sensorId: 'demo-1', metric: 'temperature', unit: 'C' });
    expect((await api(gateway.url, 'GET', '/sensors/demo-1', gateway.token('newcomer'))).body).toMatchObject({ id: 'demo-1', type: 'temperature' });
  });
});

describe('anonymous devices in development', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterEach(async () => {
    closeAllClients();
    await closeAllDevices();
  });
  afterAll(() => gateway.close());

  it('may publish readings, but never subscribe or retain', async () => {
    expect(gateway.config.mqtt.allowAnonymous).toBe(true);
    const viewer = await connectAs(gateway.url, gateway.token('viewer'));
    await viewer.emitWithAck('subscribe', { topic: 'sensor:anon-1' });
    const reading = nextEvent(viewer, 'reading:new');
    const client = await device(gateway.mqttUrl);
    expect(await client.subscribeAsync('#').catch((error: Error) => error)).toMatchObject({ packet: { granted: [128] } });
    await publish(client, 'sensors/anon-1/temp', '3');
    expect(await reading).toMatchObject({ sensorId: 'anon-1', value: 3 });
    const gone = closed(client);
    client.publish('sensors/anon-1/temp', '4', { qos: 0, retain: true });
    await gone;
    await eventually(async () =>
      expect(metricValue(await (await fetch(`${gateway.url}/api/v1/metrics`)).text(), 'mqtt_messages_rejected_total{reason="retained"}')).toBe(1),
    );
  });
});

describe('the gateway on an external broker that requires a login', () => {
  const running: TestGateway[] = [];
  let broker: EmbeddedBroker;
  const store = new InMemoryDeviceCredentialStore();
  const deviceToken = generateDeviceToken();

  beforeAll(async () => {
    // An authenticating broker standing in for a Mosquitto with a password file.
    await store.set('ext-1', hashDeviceToken(deviceToken));
    const access = new BrokerAccess({ topicPrefix: '', allowAnonymous: false, gatewayClientId: 'not-used', gatewaySecret: 'external-gateway-password' }, store);
    broker = await EmbeddedBroker.start({ port: 0, access });
  });
  afterEach(async () => {
    closeAllClients();
    await Promise.all([...open].map((client) => client.endAsync(true)));
    open.clear();
    await Promise.all(running.splice(0).map((gateway) => gateway.close()));
  });
  afterAll(() => broker.close());

  it('logs in with MQTT_USERNAME and MQTT_PASSWORD and ingests', async () => {
    const gateway = await startGateway({ MQTT_URL: broker.url, MQTT_USERNAME: GATEWAY_USERNAME, MQTT_PASSWORD: 'external-gateway-password' });
    running.push(gateway);
    const viewer = await connectAs(gateway.url, gateway.token('viewer'));
    await viewer.emitWithAck('subscribe', { topic: 'sensor:ext-1' });
    const reading = nextEvent(viewer, 'reading:new');
    const client = await login(broker.url, { username: 'ext-1', password: deviceToken });
    await client.publishAsync('sensors/ext-1/temp', '12', { qos: 1 });
    expect(await reading).toMatchObject({ sensorId: 'ext-1', value: 12 });
  });

  it('reports mqtt down in /health while the broker refuses its login', async () => {
    const gateway = await startGateway({ MQTT_URL: broker.url, MQTT_USERNAME: GATEWAY_USERNAME, MQTT_PASSWORD: 'wrong' }, { waitForMqtt: false });
    running.push(gateway);
    await eventually(async () =>
      expect(await api(gateway.url, 'GET', '/health')).toMatchObject({ status: 503, body: { checks: { mqtt: { status: 'down' } } } }),
    );
  });
});

describe('the gateway on an external mqtts:// broker with MQTT_CA_FILE', () => {
  const running: TestGateway[] = [];
  let aedes: Aedes;
  let server: TlsServer;
  let url: string;
  let caFile: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqtts-'));
    caFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    // A self-signed certificate for 127.0.0.1: trusted only through MQTT_CA_FILE.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        caFile,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    aedes = await Aedes.createBroker();
    server = createTlsServer({ key: readFileSync(keyFile), cert: readFileSync(caFile) }, aedes.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `mqtts://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterEach(async () => {
    closeAllClients();
    await Promise.all([...open].map((client) => client.endAsync(true)));
    open.clear();
    await Promise.all(running.splice(0).map((gateway) => gateway.close()));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('trusts the broker only through the CA file, and then ingests over TLS', async () => {
    const untrusted = await startGateway({ MQTT_URL: url }, { waitForMqtt: false });
    running.push(untrusted);
    await eventually(async () => expect((await api(untrusted.url, 'GET', '/health')).status).toBe(503));

    const gateway = await startGateway({ MQTT_URL: url, MQTT_CA_FILE: caFile });
    running.push(gateway);
    const viewer = await connectAs(gateway.url, gateway.token('viewer'));
    await viewer.emitWithAck('subscribe', { topic: 'sensor:tls-1' });
    const reading = nextEvent(viewer, 'reading:new');
    const client = await login(url, { ca: readFileSync(caFile) });
    await client.publishAsync('sensors/tls-1/temp', '8', { qos: 1 });
    expect(await reading).toMatchObject({ sensorId: 'tls-1', value: 8 });
  });
});
