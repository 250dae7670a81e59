import { createServer, type Server } from 'node:net';
import { Logger } from '@nestjs/common';
import { Aedes } from 'aedes';

export class BrokerPortInUseError extends Error {
  constructor(port: number) {
    super(`MQTT_BROKER_PORT ${port} is already in use: set MQTT_BROKER_PORT to a free port, or MQTT_URL to use the broker that holds it`);
    this.name = 'BrokerPortInUseError';
  }
}

/** How long close() waits for clients (our own MQTT transport among them) to leave first. */
const CLOSE_GRACE_MS = 2_000;

/**
 * An in-process MQTT 3.1.1 broker (aedes) so that `npm start` alone gives devices somewhere to
 * publish. Used when `MQTT_URL` is unset.
 */
export class EmbeddedBroker {
  private readonly logger = new Logger(EmbeddedBroker.name);

  private constructor(
    private readonly broker: Aedes,
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(port: number, host = '0.0.0.0'): Promise<EmbeddedBroker> {
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    server.on('connection', (socket) => socket.setNoDelay(true));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      broker.close();
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new BrokerPortInUseError(port);
      throw error;
    }
    const bound = (server.address() as { port: number }).port;
    new Logger(EmbeddedBroker.name).log(`Embedded MQTT broker listening on ${host}:${bound}`);
    return new EmbeddedBroker(broker, server, bound);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Waits (bounded) for clients to disconnect, so none of them sees a reset, then closes. */
  async close(): Promise<void> {
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (this.broker.connectedClients > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    this.logger.log('Embedded MQTT broker closed');
  }
}
