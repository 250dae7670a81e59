import { io, type Socket } from 'socket.io-client';
import {
  userRoom,
  type AckResponse,
  type AuthenticatedPayload,
  type ClientToServerEvents,
  type ConnectErrorData,
  type ErrorBody,
  type HandshakeAuth,
  type ServerEventName,
  type ServerEventPayloads,
  type ServerToClientEvents,
  type StreamMeta,
  type StreamPosition,
  type SubscribeAck,
  type SubscribeRequest,
} from '#contracts';

export type GatewaySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** What a subscription asks for besides its topic; kept and re-sent after every reconnect (`replay` only until a position is known). */
export type SubscribeOptions = Pick<SubscribeRequest, 'batchMs' | 'replay'>;

/** A handler for a server event; `meta` is there for events delivered through a stream. */
export type EventHandler<E extends ServerEventName> = (payload: ServerEventPayloads[E], meta?: StreamMeta) => void;

export interface GatewayClientOptions {
  /** The gateway's origin, e.g. `http://localhost:3000`. */
  url: string;
  token: string;
  /** Called for a fresh token before the current one expires (and after `TOKEN_EXPIRED`). */
  getToken?: () => Promise<string>;
  /** Socket.IO path. @default '/socket.io/' */
  path?: string;
  /** How long before `exp` to refresh. @default 60000 */
  refreshBeforeMs?: number;
  /** Told when a refresh fails (the socket keeps its old token until the server expires it). */
  onRefreshError?: (error: unknown) => void;
  /** Told when the server refuses a topic this client re-sends after a reconnect; the topic is dropped. */
  onResubscribeError?: (topic: string, error: GatewayError) => void;
  /**
   * Told when events of a stream (a topic, or `user:<id>`) may have been missed: a resume answered
   * `recovered: false` (or by a gateway without history), or a `stream:reset`. Reload that state over HTTP.
   */
  onRecoveryFailed?: (stream: string) => void;
}

/** A refused command: `code` is the contract's error code (`UNKNOWN_TOPIC`, `FORBIDDEN`, ...). */
export class GatewayError extends Error {
  constructor(
    readonly code: ErrorBody['code'],
    message: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export interface GatewayClient {
  socket: GatewaySocket;
  /**
   * Resolves on the server's ack; rejects with {@link GatewayError}. Kept across reconnects.
   * While disconnected it resolves at once and the topic is sent on connect (a refusal then goes
   * to `onResubscribeError`).
   */
  subscribe(topic: string, options?: SubscribeOptions): Promise<void>;
  unsubscribe(topic: string): Promise<void>;
  /** Topics this client holds (and re-subscribes after every reconnect). */
  readonly topics: ReadonlyMap<string, SubscribeOptions>;
  /**
   * The last position seen in each stream this client holds (its topics and its user stream), from
   * every event's `meta` and every ack; sent as `since` after a reconnect. Forgotten on unsubscribe.
   */
  readonly positions: ReadonlyMap<string, StreamPosition>;
  /** `user:<id>` once the server has said who we are. */
  readonly userStream: string | null;
  /**
   * Calls `handler` for every `event`, without the duplicates a resume could bring: an event whose
   * offsets are all at or below the positions held is dropped. (`socket.on` sees everything.)
   * Returns the function that removes the handler.
   */
  on<E extends ServerEventName>(event: E, handler: EventHandler<E>): () => void;
  /**
   * Told the outcome of every resume after a reconnect, per stream (`recovered: false` also for a
   * `stream:reset`). Returns the function that removes the listener.
   */
  onRecovery(listener: (stream: string, recovered: boolean) => void): () => void;
  /** The token in use now (after any refresh), for the same user's HTTP calls. */
  readonly token: string;
  close(): void;
}

const RECONNECT_DELAY_MS = 500;
const RECONNECT_DELAY_MAX_MS = 10_000;
const RANDOMIZATION = 0.5;
/** A token fetched after a refusal that is refused again means getToken cannot help. */
const MAX_TOKEN_RETRIES = 2;

/** The same jittered exponential backoff socket.io-client uses for its own reconnects. */
function backoff(attempt: number): number {
  const base = Math.min(RECONNECT_DELAY_MS * 2 ** (attempt - 1), RECONNECT_DELAY_MAX_MS);
  return Math.round(base * (1 - RANDOMIZATION + Math.random() * 2 * RANDOMIZATION));
}

/** `exp` of a JWT in ms, read without verifying (the server verifies). */
function expiryOf(token: string): number | null {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

const isOffset = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** A well-formed `meta` (a malformed one is ignored, never trusted to drop an event). */
function isStreamMeta(value: unknown): value is StreamMeta {
  if (typeof value !== 'object' || value === null) return false;
  const { positions, epoch } = value as Partial<StreamMeta>;
  if (typeof positions !== 'object' || positions === null || typeof epoch !== 'object' || epoch === null) return false;
  return Object.entries(positions).every(([stream, offset]) => isOffset(offset) && typeof epoch[stream] === 'string');
}

/**
 * A socket.io-client socket set up for the gateway's contract: websocket then polling, the token
 * in `auth.token` (re-read on every reconnect), reconnection with jittered backoff, topics that
 * survive reconnects (the server forgets them), and token refresh before `exp` via `auth:refresh`.
 * It resumes where it left off (CONTRACT.md §9): it remembers its position in each stream it holds
 * and sends it as `since` on every reconnect, for each topic and (in the handshake) its user stream.
 */
export function createGatewayClient({
  url,
  token,
  getToken,
  path = '/socket.io/',
  refreshBeforeMs = 60_000,
  onRefreshError,
  onResubscribeError,
  onRecoveryFailed,
}: GatewayClientOptions): GatewayClient {
  let current = token;
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const topics = new Map<string, SubscribeOptions>();
  /** Bounded by what the client holds: its topics and its user stream. */
  const positions = new Map<string, StreamPosition>();
  /** Topics acknowledged on an earlier connection: re-sending them after a reconnect is a resume. */
  const acked = new Set<string>();
  let userStream: string | null = null;
  /** The user stream's `since` sent in the current handshake, if any. */
  let userSince: StreamPosition | undefined;
  let authenticatedBefore = false;
  const handlers = new Map<string, Set<(payload: unknown, meta?: StreamMeta) => void>>();
  const recoveryListeners = new Set<(stream: string, recovered: boolean) => void>();

  const socket: GatewaySocket = io(url, {
    path,
    transports: ['websocket', 'polling'],
    // A function, so every reconnect sends the current token and the current user-stream position.
    auth: (cb) => {
      userSince = userStream ? positions.get(userStream) : undefined;
      const auth: HandshakeAuth = { token: current, ...(userSince ? { since: { ...userSince } } : {}) };
      cb(auth);
    },
    reconnection: true,
    reconnectionDelay: RECONNECT_DELAY_MS,
    reconnectionDelayMax: RECONNECT_DELAY_MAX_MS,
    randomizationFactor: RANDOMIZATION,
  });

  const tracked = (stream: string): boolean => topics.has(stream) || stream === userStream;

  const report = (stream: string, recovered: boolean): void => {
    for (const listener of [...recoveryListeners]) listener(stream, recovered);
    if (!recovered) onRecoveryFailed?.(stream);
  };

  /** Every stream of the event is held at or beyond its offset, in the same epoch: seen already. */
  const isDuplicate = (meta: StreamMeta): boolean => {
    const streams = Object.entries(meta.positions);
    return (
      streams.length > 0 &&
      streams.every(([stream, offset]) => {
        const held = positions.get(stream);
        return held !== undefined && held.epoch === meta.epoch[stream] && offset <= held.offset;
      })
    );
  };

  const advance = (meta: StreamMeta): void => {
    for (const [stream, offset] of Object.entries(meta.positions)) {
      const epoch = meta.epoch[stream]!;
      const held = positions.get(stream);
      if (!tracked(stream) || (held && held.epoch === epoch && held.offset >= offset)) continue;
      positions.set(stream, { epoch, offset });
    }
  };

  const onAuthenticated = (identity: AuthenticatedPayload): void => {
    if (typeof identity?.userId !== 'string') return;
    const stream = userRoom(identity.userId);
    let resume = authenticatedBefore;
    if (stream !== userStream) {
      // Another user (or the first time): nothing of the old stream applies.
      if (userStream) positions.delete(userStream);
      userStream = stream;
      userSince = undefined;
      resume = false;
    }
    authenticatedBefore = true;
    // Recovered: the missed events follow and advance the position from `since` themselves.
    const recovered = userSince !== undefined && identity.recovered === true;
    if (!recovered && typeof identity.epoch === 'string' && isOffset(identity.offset))
      positions.set(stream, { epoch: identity.epoch, offset: identity.offset });
    if (resume) report(stream, recovered);
  };

  const onReset = (payload: unknown): void => {
    const streams = (payload as { streams?: unknown } | null)?.streams;
    if (!Array.isArray(streams)) return;
    for (const stream of streams) {
      if (typeof stream !== 'string' || !tracked(stream)) continue;
      // The next event (in the new epoch) sets it again.
      positions.delete(stream);
      report(stream, false);
    }
  };

  // One listener sees every incoming event first: it keeps the positions and drops duplicates
  // before the handlers registered through `on`.
  socket.onAny((event: string, payload: unknown, meta?: unknown) => {
    if (event === 'stream:reset') return onReset(payload);
    if (event === 'authenticated') onAuthenticated(payload as AuthenticatedPayload);
    const streamMeta = isStreamMeta(meta) ? meta : undefined;
    if (streamMeta) {
      if (isDuplicate(streamMeta)) return;
      advance(streamMeta);
    }
    for (const handler of [...(handlers.get(event) ?? [])]) {
      try {
        handler(payload, streamMeta);
      } catch (error) {
        // One failing handler must not starve the others; the error still surfaces.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  });

  /** Subscribe acks still awaited: a disconnection rejects them (the topic is sent again on the next connect). */
  const pending = new Set<() => void>();
  socket.on('disconnect', () => {
    for (const interrupt of [...pending]) interrupt();
  });

  /**
   * Sends `subscribe` and applies the ack to the position in the ack callback itself, before the
   * replayed events that follow it in the same packet batch are handled.
   */
  const send = (topic: string, options: SubscribeOptions, resume: boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const since = positions.get(topic);
      const request: SubscribeRequest = { topic, ...(options.batchMs === undefined ? {} : { batchMs: options.batchMs }) };
      // A known position resumes; replaying on top of it would deliver publications twice.
      if (since) request.since = { ...since };
      else if (options.replay !== undefined) request.replay = options.replay;
      const interrupt = (): void => {
        pending.delete(interrupt);
        reject(new Error('Disconnected before the subscribe ack'));
      };
      pending.add(interrupt);
      socket.emit('subscribe', request, (reply: AckResponse<SubscribeAck>) => {
        pending.delete(interrupt);
        if (!reply.ok) return reject(new GatewayError(reply.error.code, reply.error.message));
        if (topics.has(topic)) applyAck(topic, request, reply, resume);
        resolve();
      });
    });

  const applyAck = (topic: string, request: SubscribeRequest, ack: SubscribeAck, resume: boolean): void => {
    acked.add(topic);
    const recovered = request.since !== undefined && ack.recovered === true;
    // Recovered: the missed events follow the ack and advance the position from `since` themselves.
    if (!recovered && typeof ack.epoch === 'string' && isOffset(ack.offset)) {
      // After `replay: N` the last N publications (up to `offset`) follow: start just before them.
      const offset = request.replay === undefined ? ack.offset : Math.max(0, ack.offset - request.replay);
      positions.set(topic, { epoch: ack.epoch, offset });
    }
    if (resume || request.since !== undefined) report(topic, recovered);
  };

  const forget = (topic: string): void => {
    topics.delete(topic);
    positions.delete(topic);
    acked.delete(topic);
  };

  const scheduleRefresh = (): void => {
    if (refreshTimer) clearTimeout(refreshTimer);
    const expiresAt = expiryOf(current);
    if (!getToken || expiresAt === null) return;
    refreshTimer = setTimeout(() => void refresh(), Math.max(0, expiresAt - refreshBeforeMs - Date.now()));
  };

  const refresh = async (): Promise<void> => {
    try {
      const next = await getToken!();
      if (socket.connected) {
        const reply = await socket.emitWithAck('auth:refresh', { token: next });
        if (!reply.ok) throw new GatewayError(reply.error.code, reply.error.message);
      }
      current = next;
    } catch (error) {
      onRefreshError?.(error);
    } finally {
      scheduleRefresh();
    }
  };

  /** Handshakes refused in a row; sets the backoff. */
  let refusals = 0;
  socket.on('connect', () => {
    refusals = 0;
    for (const [topic, options] of topics) {
      send(topic, options, acked.has(topic)).catch((error: unknown) => {
        // A disconnection mid-ack is retried on the next connect; a refusal is final.
        if (!(error instanceof GatewayError)) return;
        forget(topic);
        onResubscribeError?.(topic, error);
      });
    }
    scheduleRefresh();
  });
  // A refusal by the server's middleware is final for socket.io-client (`socket.active` is false):
  // it does not retry. A busy or draining instance is worth retrying (another one may take us);
  // an expired or rejected token is worth it only with a fresh one from getToken.
  socket.on('connect_error', (error) => {
    if (socket.active) return;
    const code = (error as { data?: Partial<ConnectErrorData> }).data?.code;
    refusals += 1;
    const delay = backoff(refusals);
    if (code === 'SERVER_FULL' || code === 'SHUTTING_DOWN' || code === 'TOO_MANY_CONNECTIONS') {
      retryTimer = setTimeout(() => socket.connect(), delay);
    } else if ((code === 'TOKEN_EXPIRED' || code === 'TOKEN_INVALID') && getToken && refusals <= MAX_TOKEN_RETRIES) {
      getToken().then(
        (next) => {
          current = next;
          retryTimer = setTimeout(() => socket.connect(), delay);
        },
        (failure: unknown) => onRefreshError?.(failure),
      );
    }
  });

  return {
    socket,
    topics,
    positions,
    get userStream() {
      return userStream;
    },
    get token() {
      return current;
    },
    on(event, handler) {
      let set = handlers.get(event);
      if (!set) handlers.set(event, (set = new Set()));
      const entry = handler as (payload: unknown, meta?: StreamMeta) => void;
      set.add(entry);
      return () => {
        set.delete(entry);
        if (set.size === 0 && handlers.get(event) === set) handlers.delete(event);
      };
    },
    onRecovery(listener) {
      recoveryListeners.add(listener);
      return () => {
        recoveryListeners.delete(listener);
      };
    },
    async subscribe(topic, options = {}) {
      topics.set(topic, options);
      if (!socket.connected) return;
      try {
        await send(topic, options, false);
      } catch (error) {
        if (error instanceof GatewayError) forget(topic);
        else return; // disconnected mid-ack: the topic is sent again on reconnect
        throw error;
      }
    },
    async unsubscribe(topic) {
      forget(topic);
      if (!socket.connected) return;
      const reply = await socket.emitWithAck('unsubscribe', { topic });
      if (!reply.ok) throw new GatewayError(reply.error.code, reply.error.message);
    },
    close() {
      if (refreshTimer) clearTimeout(refreshTimer);
      clearTimeout(retryTimer);
      socket.disconnect();
    },
  };
}
