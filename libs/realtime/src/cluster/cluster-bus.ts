import { Inject, Injectable, Logger } from '@nestjs/common';
import type { GatewayServer } from '../gateway/socket.types.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime.options.js';

type Handler = (...args: any[]) => unknown;

/**
 * Messages between gateway instances over the Socket.IO adapter (`serverSideEmit`): what the
 * Redis adapter does not carry by itself (plain WebSocket delivery, presence, stats). A request
 * is answered by every live instance; the adapter counts instances by their Redis subscriptions,
 * so a killed instance drops out as soon as its connection closes, and a hung one is cut off by
 * the adapter's request timeout. Without a cluster it is a no-op.
 */
@Injectable()
export class ClusterBus {
  private readonly logger = new Logger(ClusterBus.name);
  private server: GatewayServer | null = null;
  private readonly handlers = new Map<string, Handler>();

  constructor(@Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions) {}

  get clustered(): boolean {
    return this.options.cluster !== undefined;
  }

  /** Called by the gateway once the Socket.IO server exists. */
  attach(server: GatewayServer): void {
    if (!this.clustered) return;
    this.server = server;
    for (const [event, handler] of this.handlers) this.listen(event, handler);
  }

  /** Answers (or reacts to) `event` from other instances; a request's last argument is its reply callback. */
  handle(event: string, handler: Handler): void {
    this.handlers.set(event, handler);
    if (this.server) this.listen(event, handler);
  }

  /** Fire and forget to every other instance. */
  tell(event: string, ...args: unknown[]): void {
    if (!this.server) return;
    try {
      (this.server.serverSideEmit as (...a: unknown[]) => void)(event, ...args);
    } catch (error) {
      this.logger.warn(`Could not tell the cluster '${event}': ${(error as Error).message}`);
    }
  }

  /**
   * Asks every other instance; resolves with the replies that came (all, or those before the
   * timeout). While Redis is away it answers at once with none: the adapter's request would fail
   * inside the adapter, where nothing catches it.
   */
  ask<T>(event: string, ...args: unknown[]): Promise<T[]> {
    const server = this.server;
    if (!server || !this.options.cluster?.isReady()) return Promise.resolve([]);
    return new Promise((resolve) => {
      try {
        (server.serverSideEmit as (...a: unknown[]) => void)(event, ...args, (error: Error | null, replies: T[] | undefined) => {
          if (error) this.logger.warn(`Cluster request '${event}': ${error.message}`);
          resolve(replies ?? []);
        });
      } catch (error) {
        this.logger.warn(`Cluster request '${event}' failed: ${(error as Error).message}`);
        resolve([]);
      }
    });
  }

  private listen(event: string, handler: Handler): void {
    (this.server as unknown as { on(event: string, listener: Handler): void }).on(event, (...args: unknown[]) => {
      try {
        const result = handler(...args.slice(0, -1), args.at(-1));
        if (result instanceof Promise) result.catch((error: Error) => this.logger.error(`Cluster handler '${event}': ${error.message}`));
      } catch (error) {
        this.logger.error(`Cluster handler '${event}': ${(error as Error).message}`);
      }
    });
  }
}
