import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ConnectErrorData, ErrorBody, ServerToClientEvents, SubscribeRequest } from '#contracts';

export type GatewaySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

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
  subscribe(topic: string, options?: Pick<SubscribeRequest, 'batchMs'>): Promise<void>;
  unsubscribe(topic: string): Promise<void>;
  /** Topics this client holds (and re-subscribes after every reconnect). */
  readonly topics: ReadonlyMap<string, Pick<SubscribeRequest, 'batchMs'>>;
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

/**
 * A socket.io-client socket set up for the gateway's contract: websocket then polling, the token
 * in `auth.token` (re-read on every reconnect), reconnection with jittered backoff, topics that
 * survive reconnects (the server forgets them), and token refresh before `exp` via `auth:refresh`.
 */
export function createGatewayClient({ url, token, getToken, path = '/socket.io/', refreshBeforeMs = 60_000, onRefreshError, onResubscribeError }: GatewayClientOptions): GatewayClient {
  let current = token;
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const topics = new Map<string, Pick<SubscribeRequest, 'batchMs'>>();

  const socket: GatewaySocket = io(url, {
    path,
    transports: ['websocket', 'polling'],
    auth: (cb) => cb({ token: current }),
    reconnection: true,
    reconnectionDelay: RECONNECT_DELAY_MS,
    reconnectionDelayMax: RECONNECT_DELAY_MAX_MS,
    randomizationFactor: RANDOMIZATION,
  });

  const send = async (topic: string, options: Pick<SubscribeRequest, 'batchMs'>): Promise<void> => {
    const reply = await socket.emitWithAck('subscribe', { topic, ...options });
    if (!reply.ok) throw new GatewayError(reply.error.code, reply.error.message);
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
      send(topic, options).catch((error: unknown) => {
        // A disconnection mid-ack is retried on the next connect; a refusal is final.
        if (!(error instanceof GatewayError)) return;
        topics.delete(topic);
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
    get token() {
      return current;
    },
    async subscribe(topic, options = {}) {
      topics.set(topic, options);
      if (!socket.connected) return;
      try {
        await send(topic, options);
      } catch (error) {
        if (error instanceof GatewayError) topics.delete(topic);
        else return; // disconnected mid-ack: the topic is sent again on reconnect
        throw error;
      }
    },
    async unsubscribe(topic) {
      topics.delete(topic);
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
