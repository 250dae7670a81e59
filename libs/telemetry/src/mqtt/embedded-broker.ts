import { createServer, type Server, type Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import type { BrokerAccess, BrokerRefusal, Principal } from './broker-access.js';
import { PacketSizeGuard } from './packet-size-guard.js';

export class BrokerPortInUseError extends Error {
  constructor(port: number) {
    super(`MQTT_BROKER_PORT ${port} is already in use: set MQTT_BROKER_PORT to a free port, or MQTT_URL to use the broker that holds it`);
    this.name = 'BrokerPortInUseError';
  }
}

/** The message of the error that makes aedes close a client whose publication we refused. */
const PUBLICATION_REFUSED = 'publication refused: ';
/** How long close() waits for clients (our own MQTT transport among them) to leave first. */
const CLOSE_GRACE_MS = 2_000;
/** Largest MQTT packet accepted from any client (CONTRACT §13). */
export const MAX_PACKET_BYTES = 64 * 1024;

export interface EmbeddedBrokerOptions {
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Authentication and authorization. Without it the broker is open: for tests and tools only. */
  access?: BrokerAccess;
  /** Called once per refused connection, publication or subscription. */
  onRefusal?: (reason: BrokerRefusal) => void;
}

/**
 * An in-process MQTT 3.1.1 broker (aedes) so that `npm start` alone gives devices somewhere to
 * publish. Used when `MQTT_URL` is unset. With a {@link BrokerAccess} every connection is
 * authenticated and every publication and subscription checked; in every case packets over
 * {@link MAX_PACKET_BYTES} cut the connection.
 */
export class EmbeddedBroker {
  private readonly logger = new Logger(EmbeddedBroker.name);
  private readonly principals = new WeakMap<Client, Principal>();
  /** Live connections per device, so revoking a device's credentials disconnects it at once. */
  private readonly devices = new Map<string, Set<Client>>();
  private broker!: Aedes;
  private server!: Server;
  port = 0;

  private constructor(private readonly options: EmbeddedBrokerOptions) {}

  static async start(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    const embedded = new EmbeddedBroker(options);
    await embedded.listen();
    return embedded;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Closes every connection of `sensorId` (its credentials were revoked or replaced). */
  disconnectDevice(sensorId: string): number {
    const clients = this.devices.get(sensorId);
    if (!clients) return 0;
    this.devices.delete(sensorId);
    for (const client of clients) client.close();
    return clients.size;
  }

  /** Waits (bounded) for clients to disconnect, so none of them sees a reset, then closes. */
  async close(): Promise<void> {
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (this.broker.connectedClients > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    this.logger.log('Embedded MQTT broker closed');
  }

  private async listen(): Promise<void> {
    const { port, host = '127.0.0.1' } = this.options;
    this.broker = await Aedes.createBroker(this.hooks());
    // aedes closes a connection for a packet it cannot parse or a publication it will not route, before any hook runs.
    const onError = (_client: Client | null, error: Error & { code?: string }) => {
      const reason = brokerErrorReason(error);
      if (reason) this.refuse(reason, `a connection: ${error.message.slice(0, 120)}`);
    };
    this.broker.on('clientError', onError);
    this.broker.on('connectionError', onError);
    this.server = createServer((socket) => this.accept(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(port, host, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.broker.close();
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new BrokerPortInUseError(port);
      throw error;
    }
    this.port = (this.server.address() as { port: number }).port;
    this.logger.log(`Embedded MQTT broker listening on ${host}:${this.port}${this.options.access ? '' : ' (open: no authentication)'}`);
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    const client = this.broker.handle(socket);
    // Every way a connection ends closes its socket, including before aedes registers the client.
    socket.once('close', () => this.forget(client));
    // Added after aedes's 'readable' listener, so this only observes the chunks aedes reads.
    const guard = new PacketSizeGuard(MAX_PACKET_BYTES);
    socket.on('data', (chunk: Buffer) => {
      if (guard.accept(chunk) || socket.destroyed) return;
      this.refuse('too_large', `a packet over ${MAX_PACKET_BYTES} bytes from ${socket.remoteAddress}`);
      socket.destroy();
    });
  }

  private hooks(): AedesOptions {
    const access = this.options.access;
    if (!access) return {};
    return {
      authenticate: (client, username, password, done) => {
        const holder = (this.broker as unknown as { clients: Record<string, Client | undefined> }).clients[client.id];
        const holderPrincipal = holder && holder !== client ? this.principals.get(holder) : undefined;
        access.authenticate(client.id, username, password, holderPrincipal).then(
          (result) => {
            if (!result.ok) {
              this.refuse('unauthorized', `connection of client ${client.id.slice(0, 64)}${username ? ` as ${username.slice(0, 64)}` : ''}`);
              return done(Object.assign(new Error('Not authorized'), { returnCode: result.returnCode }), false);
            }
            this.principals.set(client, result.principal);
            // A socket that closed while its credentials were checked must not be remembered.
            if (result.principal.kind === 'device' && !client.closed && !client.conn.destroyed) {
              const clients = this.devices.get(result.principal.sensorId) ?? new Set<Client>();
              clients.add(client);
              this.devices.set(result.principal.sensorId, clients);
            }
            done(null, true);
          },
          (error: Error) => {
            this.logger.error(`Device authentication failed: ${error.message}`);
            done(Object.assign(new Error('Server unavailable'), { returnCode: 3 }), false);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        const refusal = access.authorizePublish(client ? this.principals.get(client) : undefined, packet.topic, packet.retain);
        if (!refusal) return done(null);
        this.refuse(refusal, `publication to ${packet.topic.slice(0, 200)} by ${client?.id.slice(0, 64) ?? 'the broker'}`);
        // MQTT 3.1.1 has no way to tell the client: the connection is closed (MQTT-3.3.5-2).
        done(new Error(`${PUBLICATION_REFUSED}${refusal}`));
      },
      authorizeSubscribe: (client, subscription, done) => {
        if (access.authorizeSubscribe(this.principals.get(client))) return done(null, subscription);
        this.refuse('subscribe_refused', `subscription to ${subscription.topic.slice(0, 200)} by ${client.id.slice(0, 64)}`);
        // A SUBACK failure (0x80): the client learns it, the connection stays.
        done(null, null);
      },
    };
  }

  private refuse(reason: BrokerRefusal, what: string): void {
    this.options.onRefusal?.(reason);
    this.logger.debug(`Refused ${what}: ${reason}`);
  }

  private forget(client: Client): void {
    const principal = this.principals.get(client);
    if (principal?.kind !== 'device') return;
    const clients = this.devices.get(principal.sensorId);
    clients?.delete(client);
    if (clients?.size === 0) this.devices.delete(principal.sensorId);
  }
}

/** Publications aedes refuses by itself (before `authorizePublish`): their topic can name no sensor. */
const UNROUTABLE_TOPIC = /not allowed in PUBLISH|topic has too many levels/;

/**
 * What a connection error of aedes counts as: `bad_topic` for a publication it will not route (a
 * wildcard, an empty topic), `malformed_packet` for what mqtt-packet cannot parse or MQTT forbids
 * (bad flags, protocol, lengths); null for socket errors (resets) and for our own refusals, counted where they are made.
 */
export function brokerErrorReason(error: Error & { code?: string }): BrokerRefusal | null {
  if (error.code !== undefined || error.message.startsWith(PUBLICATION_REFUSED)) return null;
  if (/keep ?alive/i.test(error.message)) return null;
  return UNROUTABLE_TOPIC.test(error.message) ? 'bad_topic' : 'malformed_packet';
}
