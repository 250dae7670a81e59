import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Server, type Socket as ServerSocket } from 'socket.io';
import type { AuthenticatedPayload, HandshakeAuth, ReadingPayload, StreamMeta, StreamPosition, SubscribeRequest } from '#contracts';
import { nextEvent } from '../../../test/support/clients.js';
import { eventually, startGateway, type TestGateway } from '../../../test/support/gateway.js';
import { freePort } from '../../../test/support/process.js';
import { createGatewayClient, GatewayError, type GatewayClient } from './gateway-client.js';

/** The typed client against a real gateway. */
describe('createGatewayClient', () => {
  const clients: GatewayClient[] = [];
  const gateways: TestGateway[] = [];
  const open = (options: Parameters<typeof createGatewayClient>[0]) => {
    const client = createGatewayClient(options);
    clients.push(client);
    return client;
  };

  afterEach(async () => {
    clients.splice(0).forEach((client) => client.close());
    await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
  });

  it('resolves subscribe on the ack and rejects with the contract code', async () => {
    const gateway = await startGateway();
    gateways.push(gateway);
    const client = open({ url: gateway.url, token: gateway.token('typed') });
    await nextEvent(client.socket as never, 'authenticated');
    await expect(client.subscribe('readings')).resolves.toBeUndefined();
    await expect(client.subscribe('weather')).rejects.toEqual(new GatewayError('UNKNOWN_TOPIC', 'Unknown topic'));
    await expect(client.subscribe('system')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect([...client.topics.keys()]).toEqual(['readings']);
    await client.unsubscribe('readings');
    expect(client.topics.size).toBe(0);
  });

  it('re-subscribes its topics after the server restarts, and reports that nothing was recovered', async () => {
    const port = await freePort();
    const first = await startGateway({ PORT: String(port) });
    const failed: string[] = [];
    const client = open({ url: `http://127.0.0.1:${port}`, token: first.token('survivor'), onRecoveryFailed: (stream) => failed.push(stream) });
    await client.subscribe('sensor:restart-1');
    await nextEvent(client.socket as never, 'authenticated');
    // Acks come in order: once this one is in, the topic was acknowledged on this connection.
    await client.socket.emitWithAck('subscribe', { topic: 'general' });
    await first.close();

    const second = await startGateway({ PORT: String(port) });
    gateways.push(second);
    if (!client.socket.connected) await new Promise((resolve) => client.socket.once('connect', () => resolve(undefined)));
    // The re-subscription is acknowledged before anything else this test sends.
    await client.socket.emitWithAck('subscribe', { topic: 'general' });
    const reading = nextEvent(client.socket as never, 'reading:new');
    second.websocket.emitToTopic('sensor:restart-1', 'reading:new', { sensorId: 'restart-1', metric: 'm', value: 1, ts: Date.now() });
    expect(await reading).toMatchObject({ sensorId: 'restart-1' });
    // A restarted instance has lost its history: the app must reload both streams' state.
    await eventually(async () => expect([...failed].sort()).toEqual(['sensor:restart-1', 'user:survivor']));
  }, 20_000);

  it('refreshes its token before exp through getToken and auth:refresh', async () => {
    const gateway = await startGateway();
    gateways.push(gateway);
    let issued = 0;
    const first = gateway.token('renewing', {}, 2);
    const client = open({
      url: gateway.url,
      token: first,
      refreshBeforeMs: 1_000,
      getToken: async () => {
        issued += 1;
        return gateway.token('renewing', {}, 3600);
      },
    });
    const errors: unknown[] = [];
    client.socket.on('error', (error) => errors.push(error));
    await nextEvent(client.socket as never, 'authenticated');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(issued).toBe(1);
    expect(client.token).not.toBe(first);
    expect(client.socket.connected).toBe(true);
    expect(errors).toEqual([]);
  });

  it('connects with a fresh token from getToken when the first one is refused as expired', async () => {
    const gateway = await startGateway();
    gateways.push(gateway);
    const refusals: string[] = [];
    const client = open({ url: gateway.url, token: gateway.token('late', {}, -10), getToken: async () => gateway.token('late') });
    client.socket.on('connect_error', (error) => refusals.push((error as { data?: { code: string } }).data?.code ?? error.message));
    expect(await nextEvent(client.socket as never, 'authenticated')).toMatchObject({ userId: 'late' });
    expect(refusals).toEqual(['TOKEN_EXPIRED']);
  });

  it('stops at a refused token when it has no getToken', async () => {
    const gateway = await startGateway();
    gateways.push(gateway);
    const client = open({ url: gateway.url, token: 'not-a-jwt' });
    const refusal = await new Promise<Error>((resolve) => client.socket.once('connect_error', resolve));
    expect(refusal).toMatchObject({ message: 'Unauthorized', data: { code: 'TOKEN_INVALID' } });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(client.socket.active).toBe(false);
    expect(client.socket.connected).toBe(false);
  });
});

/**
 * A small Socket.IO server speaking CONTRACT.md §9 (positions, `since`, `replay`, `recovered`,
 * `stream:reset`): the client's side of recovery, tested on real sockets. The token is the user id.
 */
class StreamServer {
  readonly handshakes: HandshakeAuth[] = [];
  readonly subscribes: SubscribeRequest[] = [];
  private readonly epochs = new Map<string, string>();
  private readonly logs = new Map<string, { event: string; payload: unknown }[]>();

  private constructor(
    private readonly http: HttpServer,
    readonly io: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<StreamServer> {
    const http = createServer();
    const io = new Server(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const server = new StreamServer(http, io, `http://127.0.0.1:${(http.address() as AddressInfo).port}`);
    io.use((socket, next) => {
      server.handshakes.push(structuredClone(socket.handshake.auth) as HandshakeAuth);
      next();
    });
    io.on('connection', (socket) => server.connected(socket));
    return server;
  }

  epoch(stream: string): string {
    let epoch = this.epochs.get(stream);
    if (!epoch) {
      epoch = randomBytes(6).toString('base64url');
      this.epochs.set(stream, epoch);
      this.logs.set(stream, []);
    }
    return epoch;
  }

  top(stream: string): number {
    this.epoch(stream);
    return this.logs.get(stream)!.length;
  }

  /** One publication to several streams; each socket gets it once, with the positions of the streams it holds. */
  publish(streams: string[], event: string, payload: unknown): void {
    for (const stream of streams) {
      this.epoch(stream);
      this.logs.get(stream)!.push({ event, payload });
    }
    for (const socket of this.io.of('/').sockets.values()) {
      const held = streams.filter((stream) => socket.rooms.has(stream));
      if (held.length > 0) socket.emit(event, payload, this.meta(held));
    }
  }

  /** The history is lost (an in-memory instance restarted): new epochs, offsets from 1 again. */
  forget(): void {
    this.epochs.clear();
    this.logs.clear();
  }

  /** Closes every transport without a Socket.IO disconnect, as a network cut does: clients reconnect. */
  async cut(): Promise<void> {
    const sockets = [...this.io.of('/').sockets.values()];
    const gone = sockets.map((socket) => new Promise((resolve) => socket.once('disconnect', resolve)));
    for (const socket of sockets) socket.conn.close();
    await Promise.all(gone);
  }

  async close(): Promise<void> {
    await this.io.close();
    this.http.closeAllConnections();
  }

  private meta(streams: string[]): StreamMeta {
    return {
      positions: Object.fromEntries(streams.map((stream) => [stream, this.top(stream)])),
      epoch: Object.fromEntries(streams.map((stream) => [stream, this.epoch(stream)])),
    };
  }

  /** Delivers `stream`'s publications after `offset` to one socket, as the history replays them. */
  private replay(socket: ServerSocket, stream: string, after: number): void {
    const epoch = this.epoch(stream);
    this.logs.get(stream)!.forEach(({ event, payload }, index) => {
      if (index + 1 > after) socket.emit(event, payload, { positions: { [stream]: index + 1 }, epoch: { [stream]: epoch } });
    });
  }

  private recovered(stream: string, since: StreamPosition | undefined): boolean | undefined {
    if (!since) return undefined;
    return since.epoch === this.epoch(stream) && since.offset <= this.top(stream);
  }

  private connected(socket: ServerSocket): void {
    const { token, since } = socket.handshake.auth as HandshakeAuth;
    const stream = `user:${token}`;
    const recovered = this.recovered(stream, since);
    const identity: AuthenticatedPayload = { success: true, userId: token, role: 'user', epoch: this.epoch(stream), offset: this.top(stream) };
    socket.emit('authenticated', recovered === undefined ? identity : { ...identity, recovered });
    if (recovered) this.replay(socket, stream, since!.offset);
    void socket.join(stream);

    socket.on('subscribe', (request: SubscribeRequest, ack: (reply: unknown) => void) => {
      this.subscribes.push(request);
      const topic = request.topic;
      const recovered = this.recovered(topic, request.since);
      const top = this.top(topic);
      ack({ ok: true, topic, epoch: this.epoch(topic), offset: top, ...(recovered === undefined ? {} : { recovered }) });
      if (recovered) this.replay(socket, topic, request.since!.offset);
      else if (request.replay) this.replay(socket, topic, Math.max(0, top - request.replay));
      void socket.join(topic);
    });
    socket.on('unsubscribe', ({ topic }: { topic: string }, ack: (reply: unknown) => void) => {
      void socket.leave(topic);
      ack({ ok: true, topic });
    });
  }
}

const reading = (value: number): ReadingPayload => ({ sensorId: 'resume-1', metric: 'm', value, ts: 1_000 + value });

describe('createGatewayClient resuming (CONTRACT.md §9)', () => {
  const clients: GatewayClient[] = [];
  const servers: StreamServer[] = [];
  const serve = async (): Promise<StreamServer> => {
    const server = await StreamServer.start();
    servers.push(server);
    return server;
  };
  const open = (server: StreamServer, user: string, failed: string[] = []) => {
    const client = createGatewayClient({ url: server.url, token: user, onRecoveryFailed: (stream) => failed.push(stream) });
    clients.push(client);
    return client;
  };
  /** Every reading the client's handlers get, by value. */
  const values = (client: GatewayClient): number[] => {
    const seen: number[] = [];
    client.on('reading:new', (payload) => seen.push(payload.value));
    return seen;
  };
  const reconnected = (client: GatewayClient) => new Promise((resolve) => client.socket.io.once('reconnect', resolve));

  afterEach(async () => {
    clients.splice(0).forEach((client) => client.close());
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('keeps its position in each stream from the acks and from every event meta', async () => {
    const server = await serve();
    server.publish(['readings'], 'reading:new', reading(1));
    server.publish(['user:ann'], 'xp:gained', { amount: 1, source: 's', totalXp: 1 });
    const client = open(server, 'ann');
    const seen = values(client);
    await nextEvent(client.socket as never, 'authenticated');
    expect(client.userStream).toBe('user:ann');
    expect(client.positions.get('user:ann')).toEqual({ epoch: server.epoch('user:ann'), offset: 1 });

    await client.subscribe('readings');
    expect(client.positions.get('readings')).toEqual({ epoch: server.epoch('readings'), offset: 1 });
    await client.subscribe('sensor:resume-1');
    server.publish(['readings', 'sensor:resume-1'], 'reading:new', reading(2));
    server.publish(['user:ann'], 'xp:gained', { amount: 1, source: 's', totalXp: 2 });
    await eventually(async () => expect(client.positions.get('user:ann')?.offset).toBe(2));
    expect(Object.fromEntries(client.positions)).toEqual({
      readings: { epoch: server.epoch('readings'), offset: 2 },
      'sensor:resume-1': { epoch: server.epoch('sensor:resume-1'), offset: 1 },
      'user:ann': { epoch: server.epoch('user:ann'), offset: 2 },
    });
    expect(seen).toEqual([2]);

    // Bounded by what it holds: an unsubscribed topic's position is forgotten.
    await client.unsubscribe('readings');
    expect([...client.positions.keys()].sort()).toEqual(['sensor:resume-1', 'user:ann']);
  });

  it('sends since for every topic and its user stream after the transport is cut, and gets every missed event once, in order', async () => {
    const server = await serve();
    const failed: string[] = [];
    const client = open(server, 'bea', failed);
    const seen = values(client);
    const xp: number[] = [];
    client.on('xp:gained', ({ totalXp }) => xp.push(totalXp));
    await nextEvent(client.socket as never, 'authenticated');
    await client.subscribe('readings');
    for (const value of [1, 2, 3]) server.publish(['readings'], 'reading:new', reading(value));
    server.publish(['user:bea'], 'xp:gained', { amount: 1, source: 's', totalXp: 1 });
    await eventually(async () => expect([seen.length, xp.length]).toEqual([3, 1]));
    const recoveries: [string, boolean][] = [];
    client.onRecovery((stream, recovered) => recoveries.push([stream, recovered]));

    const back = reconnected(client);
    await server.cut();
    for (const value of [4, 5]) server.publish(['readings'], 'reading:new', reading(value));
    server.publish(['user:bea'], 'xp:gained', { amount: 1, source: 's', totalXp: 2 });
    await back;

    await eventually(async () =>
      expect([seen, xp]).toEqual([
        [1, 2, 3, 4, 5],
        [1, 2],
      ]),
    );
    expect(server.handshakes.at(-1)).toEqual({ token: 'bea', since: { epoch: server.epoch('user:bea'), offset: 1 } });
    expect(server.subscribes.at(-1)).toEqual({ topic: 'readings', since: { epoch: server.epoch('readings'), offset: 3 } });
    expect(recoveries.sort()).toEqual([
      ['readings', true],
      ['user:bea', true],
    ]);
    expect(failed).toEqual([]);
    server.publish(['readings'], 'reading:new', reading(6));
    await eventually(async () => expect(seen).toEqual([1, 2, 3, 4, 5, 6]));
  }, 20_000);

  it('drops an event whose offsets it already holds, and keeps one it cannot judge', async () => {
    const server = await serve();
    const client = open(server, 'cid');
    const seen = values(client);
    const raw: number[] = [];
    client.socket.on('reading:new', (payload) => raw.push(payload.value));
    await nextEvent(client.socket as never, 'authenticated');
    await client.subscribe('readings');
    await client.subscribe('sensor:resume-1');
    server.publish(['readings', 'sensor:resume-1'], 'reading:new', reading(1));
    server.publish(['readings', 'sensor:resume-1'], 'reading:new', reading(2));
    await eventually(async () => expect(seen).toEqual([1, 2]));

    const socket = [...server.io.of('/').sockets.values()][0]!;
    const epoch = { readings: server.epoch('readings'), 'sensor:resume-1': server.epoch('sensor:resume-1') };
    socket.emit('reading:new', reading(2), { positions: { readings: 2, 'sensor:resume-1': 2 }, epoch }); // re-sent
    socket.emit('reading:new', reading(1), { positions: { readings: 1 }, epoch: { readings: epoch.readings } }); // older
    socket.emit('reading:new', reading(7), { positions: { readings: 2, 'sensor:resume-1': 3 }, epoch }); // new in one stream
    socket.emit('reading:new', reading(8), { positions: { readings: 1 }, epoch: { readings: 'another' } }); // a new epoch
    socket.emit('reading:new', reading(9), { positions: { elsewhere: 1 }, epoch: { elsewhere: 'x' } }); // a stream it does not hold
    socket.emit('reading:new', reading(10), { positions: { readings: -1 }, epoch: {} }); // malformed meta: not trusted
    socket.emit('reading:new', reading(11));
    await eventually(async () => expect(raw).toHaveLength(9));
    expect(seen).toEqual([1, 2, 7, 8, 9, 10, 11]);
    expect(client.positions.get('readings')).toEqual({ epoch: 'another', offset: 1 });
    expect(client.positions.has('elsewhere')).toBe(false);
  });

  it('reports recovered: false for every stream whose history was lost, and starts again from the new position', async () => {
    const server = await serve();
    const failed: string[] = [];
    const client = open(server, 'dan', failed);
    const seen = values(client);
    await nextEvent(client.socket as never, 'authenticated');
    await client.subscribe('readings');
    server.publish(['readings'], 'reading:new', reading(1));
    await eventually(async () => expect(seen).toEqual([1]));

    const back = reconnected(client);
    await server.cut();
    server.forget();
    for (const value of [2, 3]) server.publish(['readings'], 'reading:new', reading(value));
    await back;
    await eventually(async () => expect([...failed].sort()).toEqual(['readings', 'user:dan']));
    expect(server.subscribes.at(-1)?.since?.offset).toBe(1);
    // Nothing is replayed on recovered: false; the app reloads. What comes next is delivered.
    expect(client.positions.get('readings')).toEqual({ epoch: server.epoch('readings'), offset: 2 });
    server.publish(['readings'], 'reading:new', reading(4));
    await eventually(async () => expect(seen).toEqual([1, 4]));
  }, 20_000);

  it('treats stream:reset as recovered: false for the streams it holds', async () => {
    const server = await serve();
    const failed: string[] = [];
    const client = open(server, 'eve', failed);
    const recoveries: [string, boolean][] = [];
    client.onRecovery((stream, recovered) => recoveries.push([stream, recovered]));
    await nextEvent(client.socket as never, 'authenticated');
    await client.subscribe('readings');
    expect(client.positions.has('readings')).toBe(true);

    server.io.emit('stream:reset', { streams: ['readings', 'user:eve', 'anomalies'] });
    await eventually(async () => expect(failed).toEqual(['readings', 'user:eve']));
    expect(recoveries).toEqual([
      ['readings', false],
      ['user:eve', false],
    ]);
    expect(client.positions.size).toBe(0);
    server.io.emit('stream:reset', { streams: 'readings' } as never); // malformed: ignored
    server.publish(['readings'], 'reading:new', reading(1));
    await eventually(async () => expect(client.positions.get('readings')).toEqual({ epoch: server.epoch('readings'), offset: 1 }));
    expect(failed).toHaveLength(2);
  });

  it('passes replay through and delivers the replayed events; resumes with since, not replay, afterwards', async () => {
    const server = await serve();
    for (const value of [1, 2, 3, 4]) server.publish(['sensor:resume-1'], 'reading:new', reading(value));
    const client = open(server, 'fay');
    const seen = values(client);
    await nextEvent(client.socket as never, 'authenticated');
    await client.subscribe('sensor:resume-1', { replay: 2 });
    await eventually(async () => expect(seen).toEqual([3, 4]));
    expect(server.subscribes).toEqual([{ topic: 'sensor:resume-1', replay: 2 }]);
    expect(client.positions.get('sensor:resume-1')?.offset).toBe(4);

    const back = reconnected(client);
    await server.cut();
    server.publish(['sensor:resume-1'], 'reading:new', reading(5));
    await back;
    await eventually(async () => expect(seen).toEqual([3, 4, 5]));
    expect(server.subscribes.at(-1)).toEqual({ topic: 'sensor:resume-1', since: { epoch: server.epoch('sensor:resume-1'), offset: 4 } });
  }, 20_000);
});
