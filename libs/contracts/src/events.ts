import type { ErrorBody } from './errors.js';
import type { RealtimeStats } from './http.js';
import type { Role } from './identity.js';
import type { Topic } from './topics.js';

// ---- Server to client payloads (CONTRACT.md §3) ----

export interface AuthenticatedPayload {
  success: true;
  userId: string;
  email?: string;
  role: Role;
  /** The user stream's (`user:<id>`) epoch and top offset (CONTRACT.md §9). */
  epoch?: string;
  offset?: number;
  /** Only when the handshake's `auth.since` was given: false means reload the user's state over HTTP. */
  recovered?: boolean;
}

export interface ReadingPayload {
  sensorId: string;
  metric: string;
  value: number;
  unit?: string;
  /** Milliseconds since the epoch at which the reading was taken. */
  ts: number;
}

export interface ReadingBatchPayload {
  readings: ReadingPayload[];
}

export type EntityEventType = 'created' | 'updated' | 'deleted';

export interface EntityEvent<TData = unknown> {
  type: 'entity_event';
  entity_type: 'sensor' | 'location';
  event_type: EntityEventType;
  entity_id: string;
  data: TData;
  /** ISO 8601. */
  timestamp: string;
  metadata?: Record<string, unknown>;
}

export interface AnomalyPayload {
  id: string;
  sensorId: string;
  metric: string;
  value: number;
  expected: { mean: number; std: number };
  score: number;
  severity: 'warning' | 'critical';
  ts: number;
}

export type AlarmType = 'anomaly' | 'threshold' | 'inactivity';
export type AlarmSeverity = 'warning' | 'critical';
export type AlarmStatus = 'active' | 'cleared';

/**
 * An alarm (CONTRACT.md §12): at most one active per (sensorId, metric, type). Times are ms since
 * the epoch; `ackBy`/`clearBy` are user ids (`clearBy` absent when it cleared by itself).
 */
export interface AlarmPayload {
  id: string;
  sensorId: string;
  metric: string;
  type: AlarmType;
  severity: AlarmSeverity;
  status: AlarmStatus;
  acknowledged: boolean;
  startTs: number;
  lastTs: number;
  count: number;
  ackTs?: number;
  ackBy?: string;
  clearTs?: number;
  clearBy?: string;
  /** What raised it: the value, the expected band or the thresholds, or the silence and the usual interval. */
  details: Record<string, unknown>;
}

export interface PredictionPayload {
  sensorId: string;
  metric: string;
  model: string;
  points: { ts: number; value: number }[];
  ts: number;
}

export interface SystemEventPayload {
  level: 'info' | 'warning' | 'error';
  message: string;
  data?: unknown;
  /** ISO 8601. */
  timestamp: string;
}

export interface NotificationView {
  id: string;
  title: string;
  message: string;
  data?: unknown;
  /** ISO 8601. */
  createdAt: string;
  read: boolean;
}

export interface NotificationNewPayload {
  notification: NotificationView;
  /** ISO 8601. */
  timestamp: string;
}

export interface NotificationChangedPayload {
  notificationId: string;
  success?: boolean;
}

export interface UnreadCountPayload {
  unreadCount: number;
}

export interface AchievementUnlockedPayload {
  achievementId: string;
  name: string;
  description?: string;
  xp?: number;
  /** ISO 8601. */
  unlockedAt: string;
}

export interface XpGainedPayload {
  amount: number;
  source: string;
  totalXp: number;
}

export interface RankUpdatedPayload {
  oldRank: number;
  newRank: number;
}

export interface LeaderboardEntry {
  userId: string;
  name?: string;
  xp: number;
  rank: number;
}

export interface LeaderboardUpdatedPayload {
  leaderboard: LeaderboardEntry[];
}

/** Every event the server sends, by name. The one source of truth for server and clients. */
export interface ServerEventPayloads {
  authenticated: AuthenticatedPayload;
  'reading:new': ReadingPayload;
  'reading:batch': ReadingBatchPayload;
  'sensor:created': EntityEvent;
  'sensor:updated': EntityEvent;
  'sensor:deleted': EntityEvent;
  'location:created': EntityEvent;
  'location:updated': EntityEvent;
  'location:deleted': EntityEvent;
  'anomaly:detected': AnomalyPayload;
  'prediction:completed': PredictionPayload;
  'alarm:created': AlarmPayload;
  'alarm:updated': AlarmPayload;
  'alarm:acknowledged': AlarmPayload;
  'alarm:cleared': AlarmPayload;
  'system:event': SystemEventPayload;
  'notification:new': NotificationNewPayload;
  'notification:read': NotificationChangedPayload;
  'notification:deleted': NotificationChangedPayload;
  'notification:unread_count': UnreadCountPayload;
  'achievement:unlocked': AchievementUnlockedPayload;
  'rank:updated': RankUpdatedPayload;
  'xp:gained': XpGainedPayload;
  'leaderboard:updated': LeaderboardUpdatedPayload;
  error: ErrorBody;
}
export type ServerEventName = keyof ServerEventPayloads;

// ---- History and recovery (CONTRACT.md §9) ----

/** Where a client is in one stream (a topic or `user:<id>`): the stream's epoch and the last offset seen. */
export interface StreamPosition {
  /** Opaque; changes whenever the stream's history is lost. */
  epoch: string;
  /** The last publication seen; 0 before the first. */
  offset: number;
}

/**
 * The second argument of every event delivered through a stream: the offset and epoch, in each
 * stream of the publication that this socket holds.
 */
export interface StreamMeta {
  positions: Record<string, number>;
  epoch: Record<string, string>;
}

/** `replay: N` asks for at most this many of a topic's latest publications. */
export const MAX_REPLAY = 100;

/**
 * `stream:reset` (Socket.IO) and `{"type":"reset","streams":[...]}` (`/ws`): the history of these
 * streams was lost while connected (a flush, a gap too old to fill). Clients treat it exactly like
 * `recovered: false` for those streams: reload their state over HTTP.
 */
export interface StreamResetPayload {
  streams: string[];
}

/**
 * Socket.IO's event-map shape of {@link ServerEventPayloads}: `Server<C2S, ServerToClientEvents>`,
 * `Socket<ServerToClientEvents, C2S>`. An event delivered through a stream carries {@link StreamMeta}
 * as a second argument; one-argument handlers keep working. `stream:reset` is the gateway's own
 * notice, never published through a stream nor through the publish API, so it is not in
 * {@link ServerEventPayloads}.
 */
export type ServerToClientEvents = {
  [E in ServerEventName]: (payload: ServerEventPayloads[E], meta?: StreamMeta) => void;
} & {
  'stream:reset': (payload: StreamResetPayload) => void;
};

/** The handshake's `auth` (Socket.IO): the token, and where the client was in its user stream. */
export interface HandshakeAuth {
  token: string;
  since?: StreamPosition;
}

// ---- Client to server (every event is answered through the ack callback) ----

export type AckResponse<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorBody };
export type Ack<T extends object = object> = (response: AckResponse<T>) => void;

export interface SubscribeRequest {
  topic: Topic | string;
  /** 1-1000: deliver this topic's `reading:new` as `reading:batch` at most once per `batchMs`. */
  batchMs?: number;
  /** The last position seen: every publication after it is delivered after the ack, or the ack says `recovered: false`. */
  since?: StreamPosition;
  /** 1-{@link MAX_REPLAY}: the topic's last N publications are delivered after the ack. */
  replay?: number;
}

/**
 * The subscribe ack (besides `ok`). `epoch` and `offset` are the topic's current position;
 * `recovered` answers a `since`. They are optional in the type so that a gateway without stream
 * history still type-checks; clients must cope with their absence anyway.
 */
export interface SubscribeAck {
  topic: string;
  batchMs?: number;
  epoch?: string;
  offset?: number;
  recovered?: boolean;
}

export interface ClientEventRequests {
  subscribe: [SubscribeRequest, SubscribeAck];
  unsubscribe: [{ topic: Topic | string }, { topic: string }];
  'notification:mark_read': [{ notificationId: string }, { notificationId: string; unreadCount: number }];
  'notification:mark_all_read': [Record<string, never>, { unreadCount: number }];
  'auth:refresh': [{ token: string }, { userId: string; expiresAt: number | null }];
  'alarm:ack': [{ alarmId: string }, { alarm: AlarmPayload }];
  'alarm:clear': [{ alarmId: string }, { alarm: AlarmPayload }];
}
export type ClientEventName = keyof ClientEventRequests;

/** Socket.IO's event-map shape for what clients send. */
export type ClientToServerEvents = {
  [E in ClientEventName]: (payload: ClientEventRequests[E][0], ack: Ack<ClientEventRequests[E][1]>) => void;
};

/** One instance's share of `GET /ws/stats`: users by id, so a user on two instances counts once. */
export interface InstanceStats extends Omit<RealtimeStats, 'users' | 'total_channels' | 'channels'> {
  userIds: string[];
}

/**
 * Events between gateway instances (`serverSideEmit` over Socket.IO's Redis adapter); none are
 * part of the public contract. Publications are not among them: they travel once, on the stream
 * channel (CONTRACT section 9). A request's last argument is the reply callback.
 */
export interface InterServerEvents {
  /** How many sockets (both protocols) the user has on the answering instance. */
  'presence:count': (userId: string, reply: (count: number) => void) => void;
  /** The answering instance's stats. */
  'stats:local': (reply: (stats: InstanceStats) => void) => void;
  /** `broadcast` (no stream) for the plain WebSocket clients of the other instances; Socket.IO's adapter carries it to their sockets. */
  'broadcast:ws': (event: ServerEventName, payload: ServerEventPayloads[ServerEventName]) => void;
}
