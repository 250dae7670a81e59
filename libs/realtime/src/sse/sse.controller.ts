import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, HttpStatus, Inject, Logger, Req, Res } from '@nestjs/common';
import { ErrorCode } from '#contracts';
import { bearerToken, TokenError, TokenService, type Identity } from '#auth';
import { httpErrorBody } from '#http';
import { MetricsService } from '#observability';
import { HandshakeAuthenticator } from '../auth/handshake-authenticator.js';
import { clientAddress } from '../connections/client-address.js';
import { ConnectionLimiter } from '../connections/connection-limiter.js';
import { originAllowed } from '../connections/origin.js';
import { HubError, MAX_TOPICS_PER_SOCKET } from '../hub/subscription-hub.service.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime.options.js';
import { authorizeTopic } from '../topics/topic-acl.js';
import { SSE_TICKETS, type SseTicketStore } from './sse-tickets.js';
import { newSseId, SseTransport } from './sse.transport.js';

/** What a hub refusal answers over HTTP. */
const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.FORBIDDEN]: HttpStatus.FORBIDDEN,
  [ErrorCode.UNKNOWN_TOPIC]: HttpStatus.BAD_REQUEST,
  [ErrorCode.TOO_MANY_TOPICS]: HttpStatus.BAD_REQUEST,
  // Too much arrived while its streams were being joined: try again.
  [ErrorCode.SLOW_CONSUMER]: HttpStatus.SERVICE_UNAVAILABLE,
};

/**
 * `GET /api/v1/events?topics=a,b` (CONTRACT.md §10): checks the request the way `/ws` checks an
 * upgrade (origin, shutdown, token or ticket, topics and ACL, connection caps), each refusal a
 * fixed body counted with `protocol="sse"`, then hands the response to {@link SseTransport}.
 */
@Controller('events')
export class SseController {
  private readonly logger = new Logger(SseController.name);

  constructor(
    private readonly transport: SseTransport,
    private readonly tokens: TokenService,
    private readonly limiter: ConnectionLimiter,
    private readonly handshake: HandshakeAuthenticator,
    private readonly metrics: MetricsService,
    @Inject(SSE_TICKETS) private readonly tickets: SseTicketStore,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  @Get()
  async stream(@Req() request: IncomingMessage, @Res() response: ServerResponse): Promise<void> {
    try {
      await this.accept(request, response);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      // Answered here rather than through the exception filter: a full instance is a refusal, not a server fault to log.
      if (response.headersSent) return void response.end();
      const body = JSON.stringify(httpErrorBody(error.status, error.code));
      response.writeHead(error.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
    }
  }

  private async accept(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // Read from the raw target, not Express's parsed query: one string per name, nothing nested.
    const target = request.url ?? '';
    const queryAt = target.indexOf('?');
    const query = new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1));

    if (!originAllowed(request.headers.origin, request.headers.host, this.options.corsOrigins))
      throw this.refuse(ErrorCode.FORBIDDEN, HttpStatus.FORBIDDEN, 'origin not allowed');
    if (!this.handshake.isAccepting) throw this.refuse(ErrorCode.SHUTTING_DOWN, HttpStatus.SERVICE_UNAVAILABLE, 'shutting down');
    // A long-lived JWT never goes in a URL (logs, history, Referer): browsers use a ticket.
    if (query.has('token')) throw this.refuse(ErrorCode.BAD_REQUEST, HttpStatus.BAD_REQUEST, 'token in the URL');
    const topics = [
      ...new Set(
        (query.get('topics') ?? '')
          .split(',')
          .map((topic) => topic.trim())
          .filter(Boolean),
      ),
    ];
    if (topics.length > MAX_TOPICS_PER_SOCKET) throw this.refuse(ErrorCode.TOO_MANY_TOPICS, HttpStatus.BAD_REQUEST, 'too many topics');

    const identity = await this.authenticate(request, query);
    // The hub checks again when it joins; checked here first so a refused topic costs no join.
    for (const topic of topics) {
      const decision = authorizeTopic(topic, identity.role);
      if (!decision.ok) throw this.refuse(decision.error.code, STATUS_BY_CODE[decision.error.code] ?? HttpStatus.BAD_REQUEST, 'topic refused');
    }

    const id = newSseId();
    const admitted = this.limiter.tryAdmit(id, clientAddress(request.socket.remoteAddress, request.headers, this.options.trustProxy));
    if (!admitted.ok) throw this.refuse(admitted.code, HttpStatus.SERVICE_UNAVAILABLE, 'capacity');
    const header = request.headers['last-event-id'];
    const lastEventId = (Array.isArray(header) ? header[0] : header) ?? query.get('lastEventId') ?? undefined;
    try {
      // Releases the slot itself on every path once it has it (close, failure).
      await this.transport.open({ id, identity, topics, lastEventId }, response);
    } catch (error) {
      this.limiter.release(id);
      if (error instanceof HubError) throw this.refuse(error.body.code, STATUS_BY_CODE[error.body.code] ?? HttpStatus.SERVICE_UNAVAILABLE, 'join failed');
      throw error;
    }
  }

  /** `Authorization: Bearer`, else `?ticket=` (single use: a second try with it is refused). */
  private async authenticate(request: IncomingMessage, query: URLSearchParams): Promise<Identity> {
    const token = bearerToken(request.headers);
    const ticket = query.get('ticket');
    if (token) {
      try {
        return this.tokens.verify(token);
      } catch (error) {
        if (!(error instanceof TokenError)) throw error;
        throw this.refuse(error.code, HttpStatus.UNAUTHORIZED, error.message);
      }
    }
    if (!ticket) throw this.refuse(ErrorCode.TOKEN_MISSING, HttpStatus.UNAUTHORIZED, 'no token or ticket');
    const identity = await this.tickets.redeem(ticket);
    if (!identity) throw this.refuse(ErrorCode.TOKEN_INVALID, HttpStatus.UNAUTHORIZED, 'unknown, spent or expired ticket');
    try {
      // The ticket lives 60 s; the token it was minted with may expire sooner.
      this.tokens.assertCurrent(identity);
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      throw this.refuse(error.code, HttpStatus.UNAUTHORIZED, error.message);
    }
    return identity;
  }

  /** Counts and logs a refused stream; the thrown {@link Refusal} answers the code's fixed body. */
  private refuse(code: ErrorCode, status: number, reason: string): Refusal {
    this.metrics.handshakeFailures.inc({ protocol: 'sse', code });
    this.logger.log({ msg: 'handshake refused', protocol: 'sse', code, reason });
    return new Refusal(code, status);
  }
}

/** A refused stream: the status and the code whose fixed body answers it (the body `ApiError` would give). */
class Refusal extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
  ) {
    super(code);
  }
}
