import { Logger } from '@nestjs/common';
import { createClient, type RedisClientType } from 'redis';
import { redactUrl } from '#contracts';

export interface RedisConnectionOptions {
  url: string;
  /** Prepended to every key this app writes, e.g. `rtg:`. */
  keyPrefix: string;
}

/** Commands queued while Redis is away, at most; beyond it they fail instead of growing memory. */
const MAX_QUEUED_COMMANDS = 10_000;

/**
 * The app's Redis clients: `client` for commands (queues briefly while Redis reconnects, so a
 * short outage delays work rather than losing it), and `pub`/`sub` for the Socket.IO adapter
 * (`pub` fails fast while disconnected, so local delivery never waits on Redis). All reconnect
 * with capped backoff; none of their errors can crash the process.
 */
export class RedisConnection {
  private static readonly logger = new Logger(RedisConnection.name);

  private constructor(
    readonly client: RedisClientType,
    readonly pub: RedisClientType,
    readonly sub: RedisClientType,
    readonly keyPrefix: string,
    readonly serverVersion: number,
  ) {}

  /** Connects all three clients; rejects with a readable error when Redis is unreachable at start-up. */
  static async connect({ url, keyPrefix }: RedisConnectionOptions): Promise<RedisConnection> {
    const make = (name: string, offlineQueue: boolean): RedisClientType => {
      let everReady = false;
      let lastError = '';
      const client = createClient({
        url,
        disableOfflineQueue: !offlineQueue,
        commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
        socket: {
          connectTimeout: 5_000,
          // Fail fast at start-up; once up, retry forever with capped backoff.
          reconnectStrategy: (retries, cause) =>
            everReady ? Math.min(100 * 2 ** Math.min(retries, 5), 3_000) : new Error(`Redis at ${redactUrl(url)} is unreachable: ${cause.message}`),
        },
      }) as RedisClientType;
      client.on('ready', () => {
        if (everReady && lastError) this.logger.log(`Redis ${name} client reconnected`);
        everReady = true;
        lastError = '';
      });
      client.on('error', (error: Error) => {
        if (!everReady || error.message === lastError) return;
        lastError = error.message;
        this.logger.warn(`Redis ${name} client: ${error.message}; reconnecting`);
      });
      return client;
    };
    const client = make('command', true);
    const pub = make('pub', false);
    const sub = make('sub', true);
    try {
      await Promise.all([client.connect(), pub.connect(), sub.connect()]);
    } catch (error) {
      await Promise.allSettled([client, pub, sub].map((c) => (c.isOpen ? c.close() : undefined)));
      throw new Error(
        (error as Error).message.startsWith('Redis at') ? (error as Error).message : `Redis at ${redactUrl(url)} is unreachable: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const info = await client.info('server');
    const version = Number(/redis_version:(\d+)/.exec(info)?.[1] ?? '0');
    this.logger.log(`Connected to Redis ${redactUrl(url)} (server ${version}.x, key prefix "${keyPrefix}")`);
    return new RedisConnection(client, pub, sub, keyPrefix, version);
  }

  get isReady(): boolean {
    return this.client.isReady && this.pub.isReady && this.sub.isReady;
  }

  key(...parts: string[]): string {
    return `${this.keyPrefix}${parts.join(':')}`;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.client, this.pub, this.sub].map((c) => (c.isOpen ? c.close() : undefined)));
  }
}
