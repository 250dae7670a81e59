import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { ErrorCode, jsonTextTooDeep, MAX_REPLAY, type ServerEventName, type ServerEventPayloads } from '#contracts';
import { MetricsService } from '#observability';
import { HandshakeAuthenticator } from '../auth/handshake-authenticator.js';
import { bearerToken, TokenError, TokenService, type Identity } from '#auth';
import { clientAddress } from '../connections/client-address.js';
import { ConnectionLimiter } from '../connections/connection-limiter.js';
import { originAllowed } from '../connections/origin.js';
import { UserSocketsRegistry } from '../connections/user-sockets.registry.js';
import { RateLimiter } from '../limits/rate-limiter.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime.options.js';
import { HubError, MAX_TOPICS_PER_SOCKET, SubscriptionHub, type JoinAck, type SubscribeRequest } from '../hub/subscription-hub.service.js';
import type { DeliveryGroup, HubTransport, Subscriber } from '../hub/subscriber.js';
import { isStreamPosition, type StreamPosition, type StreamPublication } from '../streams/stream-history.js';
import { authorizeTopic } from '../topics/topic-acl.js';
import { errorBody, refusalMessage } from './reply-error.js';
import { TokenExpirySchedule } from './token-expiry-schedule.js';
import { flatFrameJson } from '../compat/flat-frame.js';
import { ANONYMOUS } from '../compat/public-access.js';
import { dialectOf, publicAccessAllowed, requestedTopics, sensorConnectionFrame, SENSOR_DIALECT_PATHS, type PlainDialect } from '../compat/sensor-dialect.js';
import { SensorDialectTransport } from '../compat/sensor-dialect.transport.js';

/** The plain WebSocket endpoint, and the paths of the sensor module's dialect (CONTRACT.md §14). */
export const PLAIN_WS_PATHS = ['/ws', ...SENSOR_DIALECT_PATHS];

/** Close codes: 1013 "try again later" for slow consumers, 4401 for an expired token. */
const CLOSE_SLOW_CONSUMER = 1013;
const CLOSE_TOKEN_EXPIRED = 4401;

interface PlainClient extends Subscriber {
  ws: WebSocket;
  /** Connected without a token to public channels only: reads them, sends nothing but `ping`. */
  anonymous: boolean;
  /** `/ws` envelopes or the sensor module's flat frames (its transport is then {@link SensorDialectTransport}). */
  dialect: PlainDialect;
  limiter: RateLimiter;
  pongTimer: NodeJS.Timeout | null;
  /** The frames being handled: a frame that comes while one waits on the hub waits behind it, so replies keep the order of the requests. */
  handled: Promise<void>;
  inFlight: number;
}

type Incoming = { type: 'sub'; topic: string; since?: StreamPosition; replay?: number } | { type: 'unsub'; topic: string } | { type: 'ping' };

type UpgradeListener = (request: IncomingMessage, socket: Socket, head: Buffer) => void;

/** What ws's `handleUpgrade` accepts as a key (it refuses anything else itself, without calling back). */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 7230 token characters: the subprotocol names ws accepts. */
const SUBPROTOCOL_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * `/ws` (and `/api/v1/ws`) for devices and scripts without a Socket.IO client, a transport of the
 * subscription hub (which holds its topics, ACL, limits and positions). Same tokens, rate limit,
 * payload limit and keepalive as Socket.IO; events arrive as JSON envelopes
 * `{topic, event, ts, payload, positions, epoch}`, built once per delivery group from the
 * publication's payload JSON, never per subscriber.
 */
@Injectable()
export class PlainWebSocketGateway implements HubTransport<PlainClient>, OnApplicationBootstrap, OnApplicationShutdown {
  readonly protocol = 'ws';
  private readonly logger = new Logger(PlainWebSocketGateway.name);
  private readonly server: WebSocketServer;
  private readonly clients = new Map<string, PlainClient>();
  private readonly tokenExpiries = new TokenExpirySchedule((id) => this.expire(id));
  private pingTimer: NodeJS.Timeout | null = null;
  private httpServer: HttpServer | null = null;
  /** The HTTP server's other `upgrade` listeners (engine.io's), run behind ours with the same guard. */
  private otherUpgradeListeners: UpgradeListener[] = [];
  private readonly publicChannels: ReadonlySet<string>;
  /** The hub transport of `/api/v1/ws` and `/api/v1/ws/secure` clients: flat frames over this class's connections. */
  private readonly sensorTransport = new SensorDialectTransport<PlainClient>((client, frame) => this.send(client, frame));

  constructor(
    private readonly tokens: TokenService,
    private readonly limiter: ConnectionLimiter,
    private readonly handshake: HandshakeAuthenticator,
    private readonly userSockets: UserSocketsRegistry,
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly hub: SubscriptionHub,
  ) {
    this.server = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: false,
      // `Sec-WebSocket-Protocol: bearer, <token>`: answer with `bearer`, never echo the token.
      handleProtocols: (protocols) => (protocols.has('bearer') ? 'bearer' : false),
    });
    this.publicChannels = new Set(options.publicChannels);
  }

  get connectionCount(): number {
    return this.clients.size;
  }

  /** Plain WebSocket subscribers per topic on this instance (the hub's record). */
  topicSubscribers(): Map<string, number> {
    return this.hub.topicSubscribersOf(this.protocol);
  }

  onApplicationBootstrap(): void {
    const httpServer: HttpServer = this.adapterHost.httpAdapter.getHttpServer();
    // An exception thrown in an `upgrade` listener escapes Node's HTTP parser and ends the process,
    // so one listener takes every upgrade and runs the others (engine.io's) inside the same guard.
    this.otherUpgradeListeners = httpServer.listeners('upgrade') as UpgradeListener[];
    httpServer.removeAllListeners('upgrade');
    httpServer.on('upgrade', this.onUpgradeRequest);
    this.httpServer = httpServer;
    this.pingTimer = setInterval(() => this.pingAll(), this.options.pingIntervalMs);
    this.pingTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const client of this.clients.values()) client.ws.close(1001, 'Server shutting down');
    this.server.close();
  }

  /** One frame per group: the payload JSON is embedded as it is, `positions`/`epoch` are the group's `meta`. */
  deliver(publication: StreamPublication, group: DeliveryGroup<PlainClient>): void {
    let frame: string | null = null;
    for (const client of group.members) {
      if (frame === null) {
        const topic = group.streams[0] ?? group.room?.stream ?? Object.keys(publication.positions)[0];
        const head = `{"topic":${JSON.stringify(topic)},"event":${JSON.stringify(publication.event)},"ts":${publication.ts},"payload":${publication.payloadJson}`;
        if (group.streams.length === 0) {
          frame = `${head}}`; // no offsets (Redis away): nothing to resume from
        } else {
          const { positions, epoch } = publication.metaFor(group.streams);
          frame = `${head},"positions":${JSON.stringify(positions)},"epoch":${JSON.stringify(epoch)}}`;
        }
      }
      this.send(client, frame);
    }
  }

  reset(client: PlainClient, streams: readonly string[]): void {
    this.sendJson(client, { type: 'reset', streams });
  }

  broadcast<E extends ServerEventName>(event: E, payload: ServerEventPayloads[E]): void {
    if (this.clients.size === 0) return;
    const frame = JSON.stringify({ topic: 'broadcast', event, ts: Date.now(), payload });
    let flat: string | null = null;
    for (const client of this.clients.values()) {
      // A broadcast is no channel: tokenless clients read their public channels and nothing else.
      if (client.anonymous) continue;
      this.send(client, client.dialect === 'sensor' ? (flat ??= flatFrameJson({ event, payload })) : frame);
    }
  }

  /**
   * Every HTTP upgrade request: `/ws` is ours, anything else goes to the other listeners. Whatever
   * any of them throws is answered 400 and counted, never left to end the process.
   */
  private readonly onUpgradeRequest = (request: IncomingMessage, socket: Socket, head: Buffer): void => {
    // Node hands the socket over with no 'error' listener: a client reset would be thrown.
    if (!socket.listeners('error').includes(ignoreSocketError)) socket.on('error', ignoreSocketError);
    const target = request.url ?? '';
    // A target no URL parser reads (`//%zz`) is routable by nobody: answered here, once.
    if (!URL.canParse(target, 'http://gateway')) return this.refuse(socket, 400, ErrorCode.BAD_REQUEST, 'unparseable request target');
    const queryAt = target.indexOf('?');
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    if (PLAIN_WS_PATHS.includes(path)) {
      try {
        this.onUpgrade(request, socket, head, path, new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1)));
      } catch (error) {
        this.upgradeFailed(socket, error, 'ws');
      }
      return;
    }
    for (const listener of this.otherUpgradeListeners) {
      try {
        listener.call(this.httpServer, request, socket, head);
      } catch (error) {
        this.upgradeFailed(socket, error, 'upgrade');
      }
    }
  };

  private upgradeFailed(socket: Socket, error: unknown, listener: string): void {
    this.metrics.listenerErrors.inc({ listener });
    this.logger.warn({ msg: 'upgrade listener threw', listener, error: error instanceof Error ? error.message : String(error) });
    if (socket.writable && socket.bytesWritten === 0) this.refuse(socket, 400, ErrorCode.BAD_REQUEST, 'listener threw', {}, false);
    else socket.destroy();
  }

  private onUpgrade(request: IncomingMessage, socket: Socket, head: Buffer, path: string, query: URLSearchParams): void {
    // What ws's handleUpgrade would refuse is refused here, before a slot is taken: ws answers
    // those itself and never calls back, so a slot taken for them would never be released.
    const malformed = malformedUpgrade(request);
    if (malformed) return this.refuse(socket, malformed.status, ErrorCode.BAD_REQUEST, malformed.reason, malformed.headers);
    if (!originAllowed(request.headers.origin, request.headers.host, this.options.corsOrigins))
      return this.refuse(socket, 403, ErrorCode.FORBIDDEN, 'origin not allowed');
    if (!this.handshake.isAccepting) return this.refuse(socket, 503, ErrorCode.SHUTTING_DOWN, 'shutting down');

    const requested = requestedTopics(query);
    const token = query.get('token') || bearerToken(request.headers) || protocolToken(request.headers['sec-websocket-protocol']);
    // Without a token only public channels, and only on the dialect's open path: anything else is refused as before.
    const anonymous = !token && publicAccessAllowed(path, requested, this.publicChannels);
    if (!token && !anonymous) return this.refuse(socket, 401, ErrorCode.TOKEN_MISSING, 'no token');
    let identity: Identity = ANONYMOUS;
    try {
      if (token) identity = this.tokens.verify(token);
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      return this.refuse(socket, 401, error.code, error.message);
    }
    if (requested.length > MAX_TOPICS_PER_SOCKET) return this.refuse(socket, 400, ErrorCode.TOO_MANY_TOPICS, `more than ${MAX_TOPICS_PER_SOCKET} topics`);
    for (const topic of requested) {
      const decision = authorizeTopic(topic, identity.role);
      if (!decision.ok) return this.refuse(socket, decision.error.code === ErrorCode.FORBIDDEN ? 403 : 400, decision.error.code, 'topic refused');
    }

    const id = `ws-${randomUUID()}`;
    const address = clientAddress(request.socket.remoteAddress, request.headers, this.options.trustProxy);
    const admitted = this.limiter.tryAdmit(id, address);
    if (!admitted.ok) return this.refuse(socket, 503, admitted.code, 'capacity');

    let opened = false;
    try {
      this.server.handleUpgrade(request, socket, head, (ws) => {
        opened = true;
        this.onOpen(id, ws, identity, anonymous, dialectOf(path), requested);
      });
    } finally {
      // With no verifyClient and no compression, ws completes or abandons the upgrade before it
      // returns; abandoned (the client already left) or thrown, the slot is free again at once.
      if (!opened) {
        this.limiter.release(id);
        this.metrics.handshakeFailures.inc({ protocol: 'ws', code: ErrorCode.BAD_REQUEST });
        this.logger.log({ msg: 'handshake refused', protocol: 'ws', code: ErrorCode.BAD_REQUEST, reason: 'abandoned by ws' });
      }
    }
  }

  private onOpen(id: string, ws: WebSocket, identity: Identity, anonymous: boolean, dialect: PlainDialect, topics: string[]): void {
    const transport = dialect === 'sensor' ? this.sensorTransport : this;
    const client: PlainClient = {
      id,
      transport,
      ws,
      identity,
      anonymous,
      dialect,
      limiter: new RateLimiter(this.options.rateLimitPerSecond, Date.now()),
      pongTimer: null,
      handled: Promise.resolve(),
      inFlight: 0,
    };
    this.clients.set(id, client);
    if (!anonymous) {
      this.userSockets.add(identity.userId, id);
      this.tokenExpiries.schedule(id, identity);
    }
    this.hub.register(client);
    this.logger.log({
      msg: 'connected',
      protocol: 'ws',
      connectionId: id,
      userId: anonymous ? null : identity.userId,
      role: anonymous ? null : identity.role,
      dialect,
    });

    ws.on('message', (data, isBinary) => this.onMessage(client, data, isBinary));
    ws.on('pong', () => {
      if (client.pongTimer) clearTimeout(client.pongTimer);
      client.pongTimer = null;
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws closes the connection itself (1002, 1007, 1009) for a frame that breaks RFC 6455 or WS_MAX_PAYLOAD.
      const reason = frameRefusal(error.code);
      if (reason) this.metrics.framesRefused.inc({ protocol: 'ws', reason });
      this.logger.debug(`ws ${id} error: ${error.message}`);
    });
    ws.on('close', (code) => this.onClose(client, code));
    // The user stream (not for a tokenless reader) and the query's topics (checked at the upgrade)
    // are joined before `connection` is sent: whatever is published after it reaches the client.
    const ignore = () => undefined;
    const joins = [...(anonymous ? [] : [this.hub.joinUserStream(id, {}, ignore)]), ...topics.map((topic) => this.hub.subscribe(id, topic, {}, ignore))];
    Promise.all(joins).then(
      () => {
        if (dialect === 'sensor') this.sendJson(client, sensorConnectionFrame(topics));
        else this.sendJson(client, { type: 'connection', status: 'connected', userId: identity.userId, topics, timestamp: new Date().toISOString() });
      },
      (error: Error) => {
        if (!this.clients.has(id)) return;
        this.logger.warn({ msg: 'initial joins failed', protocol: 'ws', connectionId: id, error: error.message });
        this.sendError(client, error instanceof HubError ? error.body.code : ErrorCode.INTERNAL_ERROR);
        client.ws.close(1011, 'Internal error');
        this.drop(client);
      },
    );
  }

  private onMessage(client: PlainClient, data: RawData, isBinary: boolean): void {
    const verdict = client.limiter.take(Date.now());
    if (verdict === 'abuse') {
      this.sendError(client, ErrorCode.RATE_LIMITED);
      client.ws.close(1008, 'Rate limit');
      this.drop(client);
      return;
    }
    if (verdict === 'limit') return this.sendError(client, ErrorCode.RATE_LIMITED);
    // A ping sent behind a subscribe is answered after that subscribe's ack, never before it; with
    // nothing in flight a frame is handled at once (a ping is answered in the same turn).
    if (client.inFlight > 0)
      return this.track(
        client,
        client.handled.then(() => this.handle(client, data, isBinary)),
      );
    const pending = this.handle(client, data, isBinary);
    if (pending) this.track(client, pending);
  }

  private track(client: PlainClient, work: Promise<void>): void {
    client.inFlight += 1;
    client.handled = work.finally(() => (client.inFlight -= 1));
  }

  /** Answers a frame; a subscribe or unsubscribe (which wait on the hub) returns its promise. */
  private handle(client: PlainClient, data: RawData, isBinary: boolean): Promise<void> | undefined {
    if (!this.clients.has(client.id)) return;
    const message = isBinary ? null : parseIncoming(data.toString());
    this.metrics.eventsIn.inc({ protocol: 'ws', event: message?.type ?? 'unknown' });
    if (!message) return void this.sendError(client, ErrorCode.VALIDATION_FAILED);
    if (message.type === 'ping') return void this.sendJson(client, { type: 'pong', ts: Date.now() });
    if (client.anonymous) return void this.sendError(client, ErrorCode.FORBIDDEN);

    const refused = (error: unknown) => {
      if (!this.clients.has(client.id)) return;
      if (error instanceof HubError) return this.sendError(client, error.body.code);
      this.logger.error(`ws ${client.id} ${message.type} failed: ${(error as Error).message}`);
      this.sendError(client, ErrorCode.INTERNAL_ERROR);
    };
    if (message.type === 'sub') {
      const { topic, since, replay } = message;
      const request: SubscribeRequest = since ? { since } : replay === undefined ? {} : { replay };
      // The ack goes out from the join itself, before the replayed frames.
      const ack = ({ topic: joined, epoch, offset, recovered }: JoinAck) =>
        this.sendJson(client, { type: 'ack', op: 'sub', topic: joined, ...(epoch === undefined ? {} : { epoch, offset }), recovered });
      return this.hub.subscribe(client.id, topic, request, ack).then(() => undefined, refused);
    }
    return this.hub.unsubscribe(client.id, message.topic).then((topic) => this.sendJson(client, { type: 'ack', op: 'unsub', topic }), refused);
  }

  private onClose(client: PlainClient, code: number): void {
    if (!this.clients.has(client.id)) return;
    this.drop(client);
    this.logger.log({ msg: 'disconnected', protocol: 'ws', connectionId: client.id, userId: client.identity.userId, code });
  }

  /** Frees everything a client holds; idempotent. */
  private drop(client: PlainClient): void {
    if (!this.clients.delete(client.id)) return;
    this.hub.unregister(client.id);
    if (client.pongTimer) clearTimeout(client.pongTimer);
    this.tokenExpiries.cancel(client.id);
    if (!client.anonymous) this.userSockets.remove(client.identity.userId, client.id);
    this.limiter.release(client.id);
  }

  private send(client: PlainClient, frame: string): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    if (client.ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.metrics.slowConsumers.inc({ protocol: 'ws' });
      this.logger.warn({
        msg: 'slow consumer dropped',
        protocol: 'ws',
        connectionId: client.id,
        userId: client.identity.userId,
        bufferedBytes: client.ws.bufferedAmount,
      });
      client.ws.close(CLOSE_SLOW_CONSUMER, 'Slow consumer');
      this.drop(client);
      return;
    }
    client.ws.send(frame);
  }

  private sendJson(client: PlainClient, message: object): void {
    this.send(client, JSON.stringify(message));
  }

  /** Every error frame is the code and its fixed message. */
  private sendError(client: PlainClient, code: ErrorCode): void {
    if (code !== ErrorCode.TOKEN_EXPIRED) this.metrics.eventsRefused.inc({ protocol: 'ws', code });
    const { message } = errorBody(code);
    this.sendJson(client, { type: 'error', code, message });
  }

  private pingAll(): void {
    for (const client of this.clients.values()) {
      if (client.pongTimer) continue; // still waiting for the last one
      client.pongTimer = setTimeout(() => {
        this.logger.log({ msg: 'keepalive timeout', protocol: 'ws', connectionId: client.id, userId: client.identity.userId });
        client.ws.terminate();
        this.drop(client);
      }, this.options.pingTimeoutMs);
      client.pongTimer.unref();
      client.ws.ping();
    }
  }

  private expire(id: string): void {
    const client = this.clients.get(id);
    if (!client) return;
    this.sendError(client, ErrorCode.TOKEN_EXPIRED);
    client.ws.close(CLOSE_TOKEN_EXPIRED, 'Token expired');
    this.drop(client);
  }

  /**
   * Answers the upgrade request with a plain HTTP error and closes the socket before any upgrade.
   * The body is the code and its fixed message; `reason` (which may quote a library) is only logged.
   */
  private refuse(socket: Socket, status: number, code: ErrorCode, reason: string, headers: Record<string, string> = {}, count = true): void {
    if (count) this.metrics.handshakeFailures.inc({ protocol: 'ws', code });
    this.logger.log({ msg: 'handshake refused', protocol: 'ws', code, reason });
    const body = JSON.stringify({ statusCode: status, code, message: refusalMessage(code) });
    const extra = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\n${extra}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
}

/** Shared by every upgrade socket: a reset client is not an error of ours. */
function ignoreSocketError(): void {}

/** What ws's `handleUpgrade` checks, in its order; null when it would go on to the upgrade. */
function malformedUpgrade(request: IncomingMessage): { status: number; reason: string; headers?: Record<string, string> } | null {
  if (request.method !== 'GET') return { status: 405, reason: 'method is not GET', headers: { Allow: 'GET' } };
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') return { status: 400, reason: 'Upgrade is not websocket' };
  const key = request.headers['sec-websocket-key'];
  if (key === undefined || !WEBSOCKET_KEY.test(key)) return { status: 400, reason: 'missing or invalid Sec-WebSocket-Key' };
  const version = Number(request.headers['sec-websocket-version']);
  if (version !== 8 && version !== 13) return { status: 400, reason: 'unsupported Sec-WebSocket-Version', headers: { 'Sec-WebSocket-Version': '13, 8' } };
  const protocols = request.headers['sec-websocket-protocol'];
  if (protocols !== undefined && !validSubprotocols(protocols)) return { status: 400, reason: 'invalid Sec-WebSocket-Protocol' };
  return null;
}

/** A comma-separated list of distinct tokens, as ws's subprotocol parser demands. */
function validSubprotocols(header: string): boolean {
  const names = header.split(',').map((part) => part.trim());
  return names.every((name) => SUBPROTOCOL_TOKEN.test(name)) && new Set(names).size === names.length;
}

/** The `realtime_frames_refused_total` reason of a ws error code (`WS_ERR_*`); null for errors of the socket itself. */
function frameRefusal(code: string | undefined): string | null {
  if (!code?.startsWith('WS_ERR_')) return null;
  if (code === 'WS_ERR_INVALID_UTF8') return 'invalid_utf8';
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH') return 'too_large';
  return 'protocol_error';
}

/** `Sec-WebSocket-Protocol: bearer, <token>`. */
function protocolToken(header: string | undefined): string | undefined {
  const [scheme, token] = (header ?? '').split(',').map((part) => part.trim());
  return scheme?.toLowerCase() === 'bearer' && token ? token : undefined;
}

function parseIncoming(text: string): Incoming | null {
  // No frame of the protocol nests; one nested past MAX_JSON_DEPTH is refused before it is parsed.
  if (jsonTextTooDeep(text)) return null;
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof message !== 'object' || message === null) return null;
  const { type, topic, since, replay } = message as { type?: unknown; topic?: unknown; since?: unknown; replay?: unknown };
  if (type === 'ping') return { type };
  if ((type !== 'sub' && type !== 'unsub') || typeof topic !== 'string' || topic.length > 128) return null;
  if (type === 'unsub') return { type, topic };
  // `since` must be a position (an epoch the stream no longer has is `recovered: false`, not an error); `replay` 1-100.
  if (since !== undefined && !isStreamPosition(since)) return null;
  if (replay !== undefined && (!Number.isSafeInteger(replay) || (replay as number) < 1 || (replay as number) > MAX_REPLAY)) return null;
  return {
    type,
    topic,
    ...(since === undefined ? {} : { since: { epoch: since.epoch, offset: since.offset } }),
    ...(replay === undefined ? {} : { replay: replay as number }),
  };
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  503: 'Service Unavailable',
};
