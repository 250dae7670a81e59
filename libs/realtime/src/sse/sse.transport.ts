import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ErrorCode, userRoom } from '#contracts';
import type { Identity } from '#auth';
import { MetricsService } from '#observability';
import { ConnectionLimiter } from '../connections/connection-limiter.js';
import { UserSocketsRegistry } from '../connections/user-sockets.registry.js';
import { TokenExpirySchedule } from '../gateway/token-expiry-schedule.js';
import { HubError, SubscriptionHub, type JoinAck } from '../hub/subscription-hub.service.js';
import type { DeliveryGroup, HubTransport, Subscriber } from '../hub/subscriber.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime.options.js';
import type { StreamPosition, StreamPublication } from '../streams/stream-history.js';
import { decodeCursor, encodeCursor } from './sse-cursor.js';

/** One `GET /api/v1/events` response, as the hub sees it. */
export interface SseSubscriber extends Subscriber {
  readonly transport: SseTransport;
  readonly response: ServerResponse;
  /** The connection's position in each of its streams: what its `id:` (the cursor) encodes. */
  readonly positions: Map<string, StreamPosition>;
  /**
   * Until the opening message is written: what the joins delivered (replays, and live publications
   * of streams already joined), and the streams that could not be resumed. Null once open.
   */
  opening: { frames: Array<[StreamPublication, readonly string[]]>; resets: Set<string>; overflowed: boolean } | null;
  closed: boolean;
}

/** What the controller admitted: who, which topics, and the cursor it came back with. */
export interface SseOpenRequest {
  /** The id the connection limiter admitted it under (released when it closes). */
  id: string;
  identity: Identity;
  topics: readonly string[];
  /** `Last-Event-ID` or `?lastEventId=`: undefined for a first connection. */
  lastEventId: string | undefined;
}

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  // nginx would otherwise buffer the stream.
  'X-Accel-Buffering': 'no',
} as const;

const KEEPALIVE = ': keepalive\n\n';
/** Publications one opening may hold while its joins run (as StreamJoiner bounds one join); beyond it the stream is refused and the client retries. */
const MAX_OPENING_FRAMES = 10_000;
/**
 * The cursor entry of a stream joined while the history was unreachable (the hub answers without a
 * position): an epoch no store makes (they are 8 characters), so a resume from it is a `reset`,
 * never a silent gap.
 */
const NO_POSITION: StreamPosition = { epoch: 'none', offset: 0 };
const TOKEN_EXPIRED_MESSAGE = `event: error\ndata: ${JSON.stringify({ code: ErrorCode.TOKEN_EXPIRED })}\n\n`;

/** An SSE message; `data` is one line of JSON (JSON.stringify never writes a raw newline). */
function message(event: string, dataJson: string, cursor: string): string {
  return `event: ${event}\ndata: ${dataJson}\nid: ${cursor}\n\n`;
}

export const newSseId = (): string => `sse-${randomUUID()}`;

/**
 * Server-Sent Events over the subscription hub (CONTRACT.md §10): the hub owns topics, ACL,
 * limits, joins and positions; this turns publications into `event:/data:/id:` messages, keeps
 * the streams alive, ends them when the token expires, and drops a client that does not read.
 * The cursor (`id:`) names every stream of the connection with its epoch and offset, so a
 * reconnect with `Last-Event-ID` resumes all of them (docs/recovery-design.md §5).
 */
@Injectable()
export class SseTransport implements HubTransport<SseSubscriber>, OnModuleInit, BeforeApplicationShutdown {
  readonly protocol = 'sse';
  private readonly logger = new Logger(SseTransport.name);
  private readonly subscribers = new Map<string, SseSubscriber>();
  private readonly tokenExpiries = new TokenExpirySchedule((id) => this.expire(id));
  private keepaliveTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly hub: SubscriptionHub,
    private readonly limiter: ConnectionLimiter,
    private readonly userSockets: UserSocketsRegistry,
    private readonly metrics: MetricsService,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  get connectionCount(): number {
    return this.subscribers.size;
  }

  onModuleInit(): void {
    this.metrics.observeProtocolConnections('sse', () => this.subscribers.size);
    this.keepaliveTimer = setInterval(() => this.keepalive(), this.options.pingIntervalMs);
    this.keepaliveTimer.unref();
  }

  beforeApplicationShutdown(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    // A clean end: EventSource reconnects by itself, to another instance behind the balancer.
    for (const subscriber of [...this.subscribers.values()]) {
      subscriber.response.end();
      this.drop(subscriber);
    }
  }

  /**
   * Joins the user stream and every topic (resuming from the cursor), then writes the headers and
   * the opening messages: `reset` when some stream could not be resumed, then `connected`, then
   * whatever the joins delivered. Rejects with a {@link HubError} (nothing written, everything
   * released) when a join fails; the controller answers it.
   */
  async open(request: SseOpenRequest, response: ServerResponse): Promise<void> {
    const subscriber: SseSubscriber = {
      id: request.id,
      transport: this,
      identity: request.identity,
      response,
      positions: new Map(),
      opening: { frames: [], resets: new Set(), overflowed: false },
      closed: false,
    };
    const own = userRoom(request.identity.userId);
    const streams = [own, ...request.topics];
    // Strict: a malformed cursor resumes nothing, and every stream is reset.
    const cursor = request.lastEventId === undefined || request.lastEventId === '' ? new Map<string, StreamPosition>() : decodeCursor(request.lastEventId);
    if (cursor === null) for (const stream of streams) subscriber.opening!.resets.add(stream);

    this.subscribers.set(subscriber.id, subscriber);
    this.userSockets.add(request.identity.userId, subscriber.id);
    this.hub.register(subscriber);
    response.on('close', () => this.onClose(subscriber));
    // The client may have left while its ticket was being redeemed: 'close' has fired already then.
    if (!response.socket || response.socket.destroyed) {
      this.drop(subscriber);
      return;
    }

    const initial = new Map<string, StreamPosition>();
    const ready = (stream: string, since: StreamPosition | undefined) => (ack: JoinAck) => {
      const resumed = since !== undefined && ack.recovered;
      initial.set(stream, resumed ? since : ack.epoch === undefined || ack.offset === undefined ? NO_POSITION : { epoch: ack.epoch, offset: ack.offset });
      if (since !== undefined && !ack.recovered) subscriber.opening?.resets.add(stream);
    };
    try {
      const sinceOf = (stream: string) => cursor?.get(stream);
      const joins = [this.hub.joinUserStream(subscriber.id, sinceOrNothing(sinceOf(own)), ready(own, sinceOf(own)))];
      for (const topic of request.topics) joins.push(this.hub.subscribe(subscriber.id, topic, sinceOrNothing(sinceOf(topic)), ready(topic, sinceOf(topic))));
      await Promise.all(joins);
    } catch (error) {
      // The client left while joining (its close unregistered it): nothing to answer.
      const left = subscriber.closed;
      this.drop(subscriber);
      if (left) return;
      throw error instanceof HubError ? error : HubError.of(ErrorCode.INTERNAL_ERROR);
    }
    if (subscriber.closed) return;
    if (subscriber.opening!.overflowed) {
      this.drop(subscriber);
      throw HubError.of(ErrorCode.SLOW_CONSUMER);
    }

    const opening = subscriber.opening!;
    subscriber.opening = null;
    for (const stream of streams) subscriber.positions.set(stream, initial.get(stream)!);
    response.writeHead(200, SSE_HEADERS);
    response.socket?.setNoDelay(true);
    let text = '';
    const cursorNow = encodeCursor(subscriber.positions);
    if (opening.resets.size > 0) text += message('reset', JSON.stringify({ streams: [...opening.resets] }), cursorNow);
    text += message('connected', JSON.stringify({ userId: request.identity.userId, topics: request.topics }), cursorNow);
    // What arrived while joining goes out now, in order, each with the cursor as of that message.
    for (const [publication, held] of opening.frames) text += this.frameFor(subscriber, publication, held, eventBlock(publication));
    // The opening is written whole, over the slow-reader cap if a replay is large: the cap applies from the next message on.
    response.write(text);
    this.tokenExpiries.schedule(subscriber.id, request.identity);
    this.logger.log({
      msg: 'connected',
      protocol: 'sse',
      connectionId: subscriber.id,
      userId: request.identity.userId,
      role: request.identity.role,
      topics: request.topics.length,
      resumed: cursor !== null && cursor.size > 0,
      resets: opening.resets.size,
    });
  }

  deliver(publication: StreamPublication, group: DeliveryGroup<SseSubscriber>): void {
    // One `event:` + `data:` block per group; only the `id:` line is per subscriber.
    let block: string | null = null;
    for (const subscriber of group.members) {
      if (subscriber.closed) continue;
      if (subscriber.opening) {
        if (subscriber.opening.frames.length < MAX_OPENING_FRAMES) subscriber.opening.frames.push([publication, group.streams]);
        else subscriber.opening.overflowed = true;
        continue;
      }
      block ??= eventBlock(publication);
      this.write(subscriber, this.frameFor(subscriber, publication, group.streams, block));
    }
  }

  reset(subscriber: SseSubscriber, streams: readonly string[]): void {
    if (subscriber.closed) return;
    if (subscriber.opening) {
      for (const stream of streams) subscriber.opening.resets.add(stream);
      return;
    }
    // The cursor keeps the old epoch until the next publication brings the new one: a reconnect
    // before that is told `reset` again, never resumed past a loss.
    this.write(subscriber, message('reset', JSON.stringify({ streams }), encodeCursor(subscriber.positions)));
  }

  /** Advances the subscriber's positions by this publication and renders its message with the new cursor. */
  private frameFor(subscriber: SseSubscriber, publication: StreamPublication, held: readonly string[], block: string): string {
    for (const stream of held) {
      const offset = publication.positions[stream];
      if (offset !== undefined) subscriber.positions.set(stream, { epoch: publication.epoch[stream]!, offset });
    }
    return `${block}id: ${encodeCursor(subscriber.positions)}\n\n`;
  }

  private write(subscriber: SseSubscriber, text: string): void {
    const { response } = subscriber;
    if (response.destroyed || response.writableEnded) return;
    if (!response.write(text) && response.writableLength > this.options.maxBufferedBytes) {
      this.metrics.slowConsumers.inc({ protocol: 'sse' });
      this.logger.warn({
        msg: 'slow consumer dropped',
        protocol: 'sse',
        connectionId: subscriber.id,
        userId: subscriber.identity.userId,
        bufferedBytes: response.writableLength,
      });
      response.destroy();
      this.drop(subscriber);
    }
  }

  private keepalive(): void {
    for (const subscriber of this.subscribers.values()) if (!subscriber.opening) this.write(subscriber, KEEPALIVE);
  }

  private expire(id: string): void {
    const subscriber = this.subscribers.get(id);
    if (!subscriber) return;
    subscriber.response.end(TOKEN_EXPIRED_MESSAGE);
    this.drop(subscriber);
  }

  private onClose(subscriber: SseSubscriber): void {
    if (subscriber.closed) return;
    this.drop(subscriber);
    this.logger.log({ msg: 'disconnected', protocol: 'sse', connectionId: subscriber.id, userId: subscriber.identity.userId });
  }

  /** Frees everything the connection holds; idempotent. */
  private drop(subscriber: SseSubscriber): void {
    if (subscriber.closed) return;
    subscriber.closed = true;
    this.subscribers.delete(subscriber.id);
    this.hub.unregister(subscriber.id);
    this.tokenExpiries.cancel(subscriber.id);
    this.userSockets.remove(subscriber.identity.userId, subscriber.id);
    this.limiter.release(subscriber.id);
  }
}

function eventBlock(publication: StreamPublication): string {
  return `event: ${publication.event}\ndata: ${publication.payloadJson}\n`;
}

function sinceOrNothing(since: StreamPosition | undefined): { since?: StreamPosition } {
  return since === undefined ? {} : { since };
}
