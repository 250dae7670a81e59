import type { NotificationView } from './events.js';
import type { Role } from './identity.js';

// Shapes of the HTTP API (CONTRACT.md §6) that clients read: one copy for the server and the dashboard.

export interface Entity {
  id: string;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601. */
  updatedAt: string;
}

export interface Thresholds {
  min?: number;
  max?: number;
}

export interface Sensor extends Entity {
  name: string;
  type: string;
  model?: string;
  unit?: string;
  locationId?: string;
  /** Notified of this sensor's anomalies. */
  ownerId?: string;
  thresholds?: Thresholds;
}

/** `POST /api/v1/sensors` body; `PATCH` takes any part of it but `id`. */
export type SensorInput = Omit<Sensor, keyof Entity> & { id?: string };

export interface Location extends Entity {
  name: string;
  description?: string;
  latitude?: number;
  longitude?: number;
}

/** A page of a list (`GET /api/v1/sensors`, `/locations`): pass `nextCursor` as `?cursor=` for the next; null on the last. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** `GET /api/v1/ws/stats`: cluster-wide. */
export interface RealtimeStats {
  instances: number;
  connections: number;
  connectionsByProtocol: { socketio: number; ws: number; sse: number };
  users: number;
  topics: Record<string, { subscribers: number }>;
  /** The sensor module's shape of `topics` (CONTRACT.md §14): how many topics have subscribers. */
  total_channels: number;
  /** The sensor module's shape of `topics`: `connections` is `subscribers`. */
  channels: Record<string, { connections: number }>;
}

/** `POST /api/v1/events/ticket`: a single-use ticket for `GET /api/v1/events?ticket=` (SSE, CONTRACT.md §10). */
export interface SseTicketResponse {
  ticket: string;
  /** ms since the epoch; the ticket is valid 60 s and only once. */
  expiresAt: number;
}

/** `GET /api/v1/notifications`: the caller's inbox, newest first. */
export interface NotificationsPage {
  items: NotificationView[];
  nextCursor: string | null;
  unreadCount: number;
}

/** `GET /api/v1/alarms/counts`: for badges. `active` by severity; `unacknowledged` among the active. */
export interface AlarmCounts {
  active: number;
  cleared: number;
  unacknowledged: number;
  bySeverity: { warning: number; critical: number };
}

/** `POST /api/v1/auth/dev-token`. */
export interface DevTokenRequest {
  sub: string;
  role?: Role;
  email?: string;
  name?: string;
  /** Seconds. */
  expiresIn?: number;
}
