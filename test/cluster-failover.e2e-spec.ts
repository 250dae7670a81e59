import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from '@jest/globals';
import jwt from 'jsonwebtoken';
import { DEV_JWT_SECRET } from '../src/config/app-config.js';
import { closeAllClients, connectAs, countOf, nextEvent, recordEvents } from './support/clients.js';
import { clusterEnv, instanceEnv, startTwoInstances } from './support/cluster.js';
import { usePostgresDatabase } from './support/database.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, publish } from './support/mqtt.js';
import { freePort, spawnGateway, type GatewayProcess } from './support/process.js';

const token = (sub: string, role = 'user') => jwt.sign({ sub, role }, DEV_JWT_SECRET, { expiresIn: 600 });

/** A throwaway server process of the machine's own packages (redis-server, mosquitto) on its own port. */
async function service(command: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: 'ignore' });
  await eventually(
    () =>
      new Promise<void>((resolve, reject) => {
        void import('node:net').then(({ connect }) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.end();
            resolve();
          });
          socket.once('error', reject);
        });
      }),
    { attempts: 100, intervalMs: 50 },
  );
  return child;
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('cluster failures', () => {
  const databaseUrl = usePostgresDatabase();
  const processes: GatewayProcess[] = [];
  const gateways: TestGateway[] = [];
  const services: ChildProcess[] = [];

  afterEach(async () => {
    closeAllClients();
    await closeAllDevices();
    for (const running of processes.splice(0)) running.child.kill('SIGKILL');
    await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
    await Promise.all(services.splice(0).map((child) => stop(child)));
  });

  it('drops a SIGKILLed instance from presence and stats at once, and the survivor takes the whole MQTT stream', async () => {
    const env = clusterEnv('failover', { LOG_LEVEL: 'warn', DATABASE_URL: databaseUrl() });
    const [portOne, portTwo] = [await freePort(), await freePort()];
    const one = spawnGateway({ ...instanceEnv(env), PORT: String(portOne), LOG_LEVEL: 'log' });
    const two = spawnGateway({ ...instanceEnv(env), PORT: String(portTwo), LOG_LEVEL: 'log' });
    processes.push(one, two);
    await Promise.all([one.waitFor('Gateway listening'), two.waitFor('Gateway listening')]);
    const urlOne = `http://127.0.0.1:${portOne}`;
    const urlTwo = `http://127.0.0.1:${portTwo}`;
    const admin = token('root', 'admin');

    await connectAs(urlTwo, token('doomed-user'));
    const survivor = await connectAs(urlOne, token('survivor'));
    await survivor.emitWithAck('subscribe', { topic: 'sensor:failover-1' });
    await eventually(async () => expect((await api(urlOne, 'GET', '/ws/stats', admin)).body).toMatchObject({ instances: 2, users: 2 }));

    two.child.kill('SIGKILL');
    await two.exited;
    // Its Redis subscription closed with it: the next request no longer waits for it.
    const after = await api(urlOne, 'GET', '/ws/stats', admin);
    expect(after.body).toMatchObject({ instances: 1, connections: 1, users: 1 });

    const log = recordEvents(survivor);
    const sensor = await device('mqtt://127.0.0.1:1883');
    for (let i = 0; i < 50; i++) await publish(sensor, `${env['MQTT_TOPIC_PREFIX']}sensors/failover-1/temp`, String(i), { qos: 1 });
    await log.until(countOf('reading:new', 50));
    expect(new Set(log.filter((e) => e.event === 'reading:new').map((e) => (e.payload as { value: number }).value)).size).toBe(50);
  });

  it('rides out a Redis restart during traffic: no crash, both instances recover by themselves', async () => {
    const redisPort = await freePort();
    const redisArgs = ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    services.push(await service('redis-server', redisArgs, redisPort));
    const { env, one, two } = await startTwoInstances('redis-restart', { REDIS_URL: `redis://127.0.0.1:${redisPort}`, DATABASE_URL: databaseUrl() });
    gateways.push(one, two);
    const service_ = one.token('svc', { role: 'service' });
    const local = await connectAs(one.url, one.token('steady'));
    await local.emitWithAck('subscribe', { topic: 'sensor:steady-1' });
    const sensor = await device('mqtt://127.0.0.1:1883');

    await stop(services.pop());
    await eventually(async () => expect((await api(one.url, 'GET', '/health')).body.checks.redis.status).toBe('down'));
    // Local delivery goes on while Redis is away.
    const during = nextEvent(local, 'reading:new');
    await publish(sensor, `${env['MQTT_TOPIC_PREFIX']}sensors/steady-1/temp`, '1');
    expect(await during).toMatchObject({ sensorId: 'steady-1', value: 1 });

    services.push(await service('redis-server', redisArgs, redisPort));
    for (const gateway of [one, two]) await eventually(async () => expect((await api(gateway.url, 'GET', '/health')).status).toBe(200), { attempts: 100 });

    const remote = await connectAs(two.url, two.token('steady'));
    const arrived = nextEvent(remote, 'notification:new');
    expect((await api(one.url, 'POST', '/notifications', service_, { userIds: ['steady'], title: 'back', message: 'after restart' })).status).toBe(201);
    expect((await arrived).notification.title).toBe('back');
  });

  it('keeps a real gateway process alive through a Redis outage while clients ask for stats and presence', async () => {
    const redisPort = await freePort();
    const redisArgs = ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    services.push(await service('redis-server', redisArgs, redisPort));
    const port = await freePort();
    const gateway = spawnGateway({
      ...instanceEnv(clusterEnv('outage', { REDIS_URL: `redis://127.0.0.1:${redisPort}`, DATABASE_URL: databaseUrl() })),
      PORT: String(port),
      LOG_LEVEL: 'log',
    });
    processes.push(gateway);
    await gateway.waitFor('Gateway listening');
    const url = `http://127.0.0.1:${port}`;
    const admin = token('root', 'admin');
    const socket = await connectAs(url, token('through-it'));

    await stop(services.pop());
    await eventually(async () => expect((await api(url, 'GET', '/health')).status).toBe(503));
    for (let i = 0; i < 5; i++) {
      expect((await api(url, 'GET', '/ws/stats', admin)).body).toMatchObject({ instances: 1, connections: 1 });
      // Answered at once from this instance, without a position it cannot read.
      expect(await socket.emitWithAck('subscribe', { topic: 'general' })).toEqual({ ok: true, topic: 'general', recovered: false });
    }
    services.push(await service('redis-server', redisArgs, redisPort));
    await eventually(async () => expect((await api(url, 'GET', '/health')).status).toBe(200), { attempts: 100 });
    expect(gateway.child.exitCode).toBeNull();
    expect(socket.connected).toBe(true);
  });

  it('resumes ingestion when the broker restarts', async () => {
    const brokerPort = await freePort();
    const args = ['-p', String(brokerPort)];
    services.push(await service('mosquitto', args, brokerPort));
    const env = clusterEnv('broker-restart', { MQTT_URL: `mqtt://127.0.0.1:${brokerPort}`, DATABASE_URL: databaseUrl() });
    const gateway = await startGateway(instanceEnv(env));
    gateways.push(gateway);
    const viewer = await connectAs(gateway.url, gateway.token('viewer'));
    await viewer.emitWithAck('subscribe', { topic: 'sensor:phoenix-1' });

    await stop(services.pop());
    await eventually(async () => expect((await api(gateway.url, 'GET', '/health')).status).toBe(503));
    services.push(await service('mosquitto', args, brokerPort));
    await eventually(async () => expect((await api(gateway.url, 'GET', '/health')).status).toBe(200), { attempts: 100 });

    const reading = nextEvent(viewer, 'reading:new');
    // The restarted broker has no session memory; the gateway resubscribes on reconnect.
    await eventually(async () => {
      const sensor = await device(`mqtt://127.0.0.1:${brokerPort}`);
      await publish(sensor, `${env['MQTT_TOPIC_PREFIX']}sensors/phoenix-1/temp`, '3');
      await sensor.endAsync();
      await Promise.race([reading, new Promise((_, reject) => setTimeout(() => reject(new Error('not yet')), 200))]);
    });
    expect(await reading).toMatchObject({ sensorId: 'phoenix-1', value: 3 });
  });
});
