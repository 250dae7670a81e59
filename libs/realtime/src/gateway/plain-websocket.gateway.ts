import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { ErrorCode, userRoom, type ErrorBody, type ServerEventName, type ServerEventPayloads } from '#contracts';
import { MetricsService } from '#observability';
import { HandshakeAuthenticator } from '../auth/handshake-authenticator.js';
import { bearerToken, TokenError, TokenService, type Identity } from '#auth';
import { clientAddress } from '../connections/client-address.js';
import { ConnectionLimiter } from '../connections/connection-limiter.js';
import { originAllowed } from '../connections/origin.js';
import { UserSocketsRegistry } from '../connections/user-sockets.registry.js';
import { RateLimiter } from '../limits/rate-limiter.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime.options.js';
import { authorizeTopic } from '../topics/topic-acl.js';
import { MAX_TOPICS_PER_SOCKET } from './topics.gateway.js';
import { TokenExpirySchedule } from './token-expiry-schedule.js';

/** The plain WebSocket endpoint and its alias. */
export const PLAIN_WS_PATHS = ['/ws', '/api/v1/ws'];

/** Close codes: 1013 "try again later" for slow consumers, 4401 for an expired token. */
const CLOSE_SLOW_CONSUMER = 1013;
const CLOSE_TOKEN_EXPIRED = 4401;

interface PlainClient {
  id: string;
  ws: WebSocket;
  identity: Identity;
  rooms: Set<string>;
  limiter: RateLimiter;
  pongTimer: NodeJS.Timeout | null;
}

type Incoming = { type: 'sub'; topic: string } | { type: 'unsub'; topic: string } | { type: 'ping' };

/**
 * `/ws` (and `/api/v1/ws`) for devices and scripts without a Socket.IO client. Same tokens, ACL,
 * rate limit, payload limit and keepalive as Socket.IO; events arrive as JSON envelopes
 * `{topic, event, ts, payload}`, serialized once per publish and topic, not per subscriber.
 */
@Injectable()
export class PlainWebSocketGateway implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PlainWebSocketGateway.name);
  private readonly server: WebSocketServer;
  private readonly clients = new Map<string, PlainClient>();
  private readonly rooms = new Map<string, Set<PlainClient>>();
  private readonly tokenExpiries = new TokenExpirySchedule((id) => this.expire(id));
  private pingTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly tokens: TokenService,
    private readonly limiter: ConnectionLimiter,
    private readonly handshake: HandshakeAuthenticator,
    private readonly userSockets: UserSocketsRegistry,
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {
    this.server = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: false,
      // `Sec-WebSocket-Protocol: bearer, <token>`: answer with `bearer`, never echo the token.
      handleProtocols: (protocols) => (protocols.has('bearer') ? 'bearer' : false),
    });
  }

  get connectionCount(): number {
    return this.clients.size;
  }

  /** Subscribers per topic on this instance. */
  topicSubscribers(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [room, members] of this.rooms) if (!room.startsWith('user:')) counts.set(room, members.size);
    return counts;
  }

  onApplicationBootstrap(): void {
    const httpServer: HttpServer = this.adapterHost.httpAdapter.getHttpServer();
    httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(request, socket, head));
    this.pingTimer = setInterval(() => this.pingAll(), this.options.pingIntervalMs);
    this.pingTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const client of this.clients.values()) client.ws.close(1001, 'Server shutting down');
    this.server.close();
  }

  /** Sends an event to every client in any of `rooms`, once per client. */
  publish<E extends ServerEventName>(rooms: readonly string[], event: E, payload: ServerEventPayloads[E]): void {
    if (this.clients.size === 0) return;
    const ts = Date.now();
    const delivered = new Set<PlainClient>();
    for (const room of rooms) {
      const members = this.rooms.get(room);
      if (!members || members.size === 0) continue;
      let frame: string | null = null;
      for (const client of members) {
        if (delivered.has(client)) continue;
        delivered.add(client);
        frame ??= JSON.stringify({ topic: room, event, ts, payload });
        this.send(client, frame);
      }
    }
  }

  broadcast<E extends ServerEventName>(event: E, payload: ServerEventPayloads[E]): void {
    if (this.clients.size === 0) return;
    const frame = JSON.stringify({ topic: 'broadcast', event, ts: Date.now(), payload });
    for (const client of this.clients.values()) this.send(client, frame);
  }

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://gateway');
    if (!PLAIN_WS_PATHS.includes(url.pathname)) return; // Socket.IO's own path, or nobody's: engine.io answers those.
    if (!originAllowed(request.headers.origin, request.headers.host, this.options.corsOrigins)) return this.refuse(socket, 403, ErrorCode.FORBIDDEN, 'Origin not allowed');
    if (!this.handshake.isAccepting) return this.refuse(socket, 503, ErrorCode.SHUTTING_DOWN, 'Server shutting down');

    const token = url.searchParams.get('token') || bearerToken(request.headers) || protocolToken(request.headers['sec-websocket-protocol']);
    if (!token) return this.refuse(socket, 401, ErrorCode.TOKEN_MISSING, 'Unauthorized', 'no token');
    let identity: Identity;
    try {
      identity = this.tokens.verify(token);
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      return this.refuse(socket, 401, error.code, 'Unauthorized', error.message);
    }
    const requested = [...(url.searchParams.get('topics')?.split(',') ?? []), ...url.searchParams.getAll('channel')].map((t) => t.trim()).filter(Boolean);
    for (const topic of requested) {
      const decision = authorizeTopic(topic, identity.role);
      if (!decision.ok) return this.refuse(socket, decision.error.code === ErrorCode.FORBIDDEN ? 403 : 400, decision.error.code, decision.error.message);
    }
    if (requested.length > MAX_TOPICS_PER_SOCKET) return this.refuse(socket, 400, ErrorCode.TOO_MANY_TOPICS, `At most ${MAX_TOPICS_PER_SOCKET} topics`);

    const id = `ws-${randomUUID()}`;
    const address = clientAddress(request.socket.remoteAddress, request.headers, this.options.trustProxy);
    const admitted = this.limiter.tryAdmit(id, address);
    if (!admitted.ok) return this.refuse(socket, 503, admitted.code, admitted.code === ErrorCode.SERVER_FULL ? 'Server full' : 'Too many connections from this address');

    this.server.handleUpgrade(request, socket, head, (ws) => this.onOpen(id, ws, identity, [...new Set(requested)]));
  }

  private onOpen(id: string, ws: WebSocket, identity: Identity, topics: string[]): void {
    const client: PlainClient = { id, ws, identity, rooms: new Set(), limiter: new RateLimiter(this.options.rateLimitPerSecond, Date.now()), pongTimer: null };
    this.clients.set(id, client);
    this.userSockets.add(identity.userId, id);
    this.join(client, userRoom(identity.userId));
    for (const topic of topics) this.join(client, topic);
    this.tokenExpiries.schedule(id, identity);
    this.logger.log({ msg: 'connected', protocol: 'ws', connectionId: id, userId: identity.userId, role: identity.role });

    ws.on('message', (data, isBinary) => this.onMessage(client, data, isBinary));
    ws.on('pong', () => {
      if (client.pongTimer) clearTimeout(client.pongTimer);
      client.pongTimer = null;
    });
    ws.on('error', (error) => this.logger.debug(`ws ${id} error: ${error.message}`));
    ws.on('close', (code) => this.onClose(client, code));
    this.sendJson(client, { type: 'connection', status: 'connected', userId: identity.userId, topics, timestamp: new Date().toISOString() });
  }

  private onMessage(client: PlainClient, data: RawData, isBinary: boolean): void {
    const verdict = client.limiter.take(Date.now());
    if (verdict === 'abuse') {
      this.sendError(client, { code: ErrorCode.RATE_LIMITED, message: 'Too many messages; disconnected' });
      client.ws.close(1008, 'Rate limit');
      this.drop(client);
      return;
    }
    if (verdict === 'limit') return this.sendError(client, { code: ErrorCode.RATE_LIMITED, message: `More than ${this.options.rateLimitPerSecond} messages/s` });

    const message = isBinary ? null : parseIncoming(data.toString());
    this.metrics.eventsIn.inc({ protocol: 'ws', event: message?.type ?? 'unknown' });
    if (!message) return this.sendError(client, { code: ErrorCode.VALIDATION_FAILED, message: 'Expected a JSON text frame {"type":"sub"|"unsub"|"ping", "topic"?}' });
    if (message.type === 'ping') return this.sendJson(client, { type: 'pong', ts: Date.now() });

    const decision = authorizeTopic(message.topic, client.identity.role);
    if (!decision.ok) return this.sendError(client, decision.error);
    if (message.type === 'sub') {
      if (!client.rooms.has(decision.topic) && client.rooms.size - 1 >= MAX_TOPICS_PER_SOCKET) {
        return this.sendError(client, { code: ErrorCode.TOO_MANY_TOPICS, message: `At most ${MAX_TOPICS_PER_SOCKET} topics per connection` });
      }
      this.join(client, decision.topic);
    } else {
      this.leave(client, decision.topic);
    }
    this.sendJson(client, { type: 'ack', op: message.type, topic: decision.topic });
  }

  private onClose(client: PlainClient, code: number): void {
    if (!this.clients.has(client.id)) return;
    this.drop(client);
    this.logger.log({ msg: 'disconnected', protocol: 'ws', connectionId: client.id, userId: client.identity.userId, code });
  }

  /** Frees everything a client holds; idempotent. */
  private drop(client: PlainClient): void {
    if (!this.clients.delete(client.id)) return;
    for (const room of client.rooms) this.leave(client, room);
    if (client.pongTimer) clearTimeout(client.pongTimer);
    this.tokenExpiries.cancel(client.id);
    this.userSockets.remove(client.identity.userId, client.id);
    this.limiter.release(client.id);
  }

  private join(client: PlainClient, room: string): void {
    client.rooms.add(room);
    let members = this.rooms.get(room);
    if (!members) {
      members = new Set();
      this.rooms.set(room, members);
    }
    members.add(client);
  }

  private leave(client: PlainClient, room: string): void {
    client.rooms.delete(room);
    const members = this.rooms.get(room);
    if (!members) return;
    members.delete(client);
    if (members.size === 0) this.rooms.delete(room);
  }

  private send(client: PlainClient, frame: string): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    if (client.ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.logger.warn({ msg: 'slow consumer dropped', protocol: 'ws', connectionId: client.id, userId: client.identity.userId, bufferedBytes: client.ws.bufferedAmount });
      client.ws.close(CLOSE_SLOW_CONSUMER, 'Slow consumer');
      this.drop(client);
      return;
    }
    client.ws.send(frame);
  }

  private sendJson(client: PlainClient, message: object): void {
    this.send(client, JSON.stringify(message));
  }

  private sendError(client: PlainClient, error: ErrorBody): void {
    this.sendJson(client, { type: 'error', code: error.code, message: error.message });
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
    this.sendError(client, { code: ErrorCode.TOKEN_EXPIRED, message: 'Token has expired; reconnect with a new one' });
    client.ws.close(CLOSE_TOKEN_EXPIRED, 'Token expired');
    this.drop(client);
  }

  /** Answers the upgrade request with a plain HTTP error and closes the socket before any upgrade. */
  private refuse(socket: Duplex, status: number, code: ErrorBody['code'], message: string, reason = message): void {
    this.metrics.handshakeFailures.inc({ protocol: 'ws', code });
    this.logger.log({ msg: 'handshake refused', protocol: 'ws', code, reason });
    const body = JSON.stringify({ statusCode: status, code, message });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
}

/** `Sec-WebSocket-Protocol: bearer, <token>`. */
function protocolToken(header: string | undefined): string | undefined {
  const [scheme, token] = (header ?? '').split(',').map((part) => part.trim());
  return scheme?.toLowerCase() === 'bearer' && token ? token : undefined;
}

function parseIncoming(text: string): Incoming | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof message !== 'object' || message === null) return null;
  const { type, topic } = message as { type?: unknown; topic?: unknown };
  if (type === 'ping') return { type };
  if ((type === 'sub' || type === 'unsub') && typeof topic === 'string' && topic.length <= 128) return { type, topic };
  return null;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' };
