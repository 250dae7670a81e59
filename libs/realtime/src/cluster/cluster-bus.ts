import { Inject, Injectable, Logger } from '@nestjs/common';
import type { InterServerEvents } from '#contracts';
import type { GatewayServer } from '../gateway/socket.types.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime.options.js';

type ClusterEvent = keyof InterServerEvents;
type Params<E extends ClusterEvent> = Parameters<InterServerEvents[E]>;
/** Events whose last argument is a reply callback: requests, asked with {@link ClusterBus.ask}. */
type RequestEvent = { [E in ClusterEvent]: Params<E> extends [...unknown[], (reply: never) => void] ? E : never }[ClusterEvent];
type NoticeEvent = Exclude<ClusterEvent, RequestEvent>;
type RequestArgs<E extends RequestEvent> = Params<E> extends [...infer A, (reply: never) => void] ? A : never;
type ReplyOf<E extends RequestEvent> = Params<E> extends [...unknown[], (reply: infer R) => void] ? R : never;

/**
 * Messages between gateway instances over the Socket.IO adapter (`serverSideEmit`), typed by
 * `InterServerEvents`: what has no stream (presence, stats, `broadcast` for plain WebSocket
 * clients). Publications never go through here: the stream channel carries them once. A request
 * is answered by every live instance; the adapter counts instances by their Redis subscriptions,
 * so a killed instance drops out as soon as its connection closes, and a hung one is cut off by
 * the adapter's request timeout. Without a cluster it is a no-op.
 */
@Injectable()
export class ClusterBus {
  private readonly logger = new Logger(ClusterBus.name);
  private server: GatewayServer | null = null;
  private readonly handlers = new Map<ClusterEvent, (...args: any[]) => unknown>();

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
  handle<E extends ClusterEvent>(event: E, handler: InterServerEvents[E]): void {
    this.handlers.set(event, handler);
    if (this.server) this.listen(event, handler);
  }

  /** Fire and forget to every other instance. */
  tell<E extends NoticeEvent>(event: E, ...args: Params<E>): void {
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
  ask<E extends RequestEvent>(event: E, ...args: RequestArgs<E>): Promise<ReplyOf<E>[]> {
    const server = this.server;
    if (!server || !this.options.cluster?.isReady()) return Promise.resolve([]);
    return new Promise((resolve) => {
      try {
        (server.serverSideEmit as (...a: unknown[]) => void)(event, ...args, (error: Error | null, replies: ReplyOf<E>[] | undefined) => {
          if (error) this.logger.warn(`Cluster request '${event}': ${error.message}`);
          resolve(replies ?? []);
        });
      } catch (error) {
        this.logger.warn(`Cluster request '${event}' failed: ${(error as Error).message}`);
        resolve([]);
      }
    });
  }

  private listen(event: ClusterEvent, handler: (...args: any[]) => unknown): void {
    // Socket.IO's typings for server-side listeners do not follow a generic event name.
    (this.server as unknown as { on(event: string, listener: (...args: unknown[]) => void): void }).on(event, (...args: unknown[]) => {
      try {
        const result = handler(...args);
        if (result instanceof Promise) result.catch((error: Error) => this.logger.error(`Cluster handler '${event}': ${error.message}`));
      } catch (error) {
        this.logger.error(`Cluster handler '${event}': ${(error as Error).message}`);
      }
    });
  }
}
