import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REJECT_REASONS } from '#contracts';

export type Protocol = 'socketio' | 'ws' | 'sse';

/**
 * The app's Prometheus registry and every metric it exposes, in one place. Labels are bounded
 * sets (protocols, codes, known event names, reject reasons), never user, sensor or topic ids.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private connectionSource: () => Partial<Record<Protocol, number>> = () => ({ socketio: 0, ws: 0 });
  /** Transports that count their own connections (SSE), added to {@link connectionSource}'s. */
  private readonly protocolSources = new Map<Protocol, () => number>();
  private userSource: () => number = () => 0;
  private readingQueueSource: () => number = () => 0;

  readonly connections = new Gauge({
    name: 'realtime_connections',
    help: 'Open client connections on this instance, by protocol',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
    collect: (): void => {
      for (const [protocol, count] of Object.entries(this.connectionSource())) this.connections.set({ protocol }, count);
      for (const [protocol, count] of this.protocolSources) this.connections.set({ protocol }, count());
    },
  });

  readonly connectedUsers = new Gauge({
    name: 'realtime_connected_users',
    help: 'Distinct users with at least one connection on this instance',
    registers: [this.registry],
    collect: (): void => {
      this.connectedUsers.set(this.userSource());
    },
  });

  readonly handshakeFailures = new Counter({
    name: 'realtime_handshake_failures_total',
    help: 'Refused handshakes, by protocol and code',
    labelNames: ['protocol', 'code'] as const,
    registers: [this.registry],
  });

  readonly listenerErrors = new Counter({
    name: 'realtime_listener_errors_total',
    help: 'Exceptions caught in upgrade and connection listeners (the request got 400 or its connection was closed), by listener',
    labelNames: ['listener'] as const,
    registers: [this.registry],
  });

  readonly slowConsumers = new Counter({
    name: 'realtime_slow_consumers_total',
    help: 'Connections dropped because more than WS_MAX_BUFFERED_BYTES waited for them, by protocol',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });

  readonly eventsRefused = new Counter({
    name: 'realtime_events_refused_total',
    help: 'Client messages refused before any handler ran (rate limit, unknown event, bad frame), by protocol and code',
    labelNames: ['protocol', 'code'] as const,
    registers: [this.registry],
  });

  readonly framesRefused = new Counter({
    name: 'realtime_frames_refused_total',
    help: 'Connections closed for a frame or packet that breaks the protocol, by protocol and reason (ws: protocol_error 1002, invalid_utf8 1007, too_large 1009; socketio: parse_error)',
    labelNames: ['protocol', 'reason'] as const,
    registers: [this.registry],
  });

  readonly engineIoErrors = new Counter({
    name: 'engineio_connection_errors_total',
    help: 'Engine.IO requests refused (bad EIO version, transport, sid, handshake method, request) and transports closed for a parse or transport error, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly httpRefused = new Counter({
    name: 'http_requests_refused_total',
    help: "HTTP requests answered 4xx, by status and code (Node's parser refusals: BAD_REQUEST with 400, 408 or 431)",
    labelNames: ['status', 'code'] as const,
    registers: [this.registry],
  });

  readonly eventsIn = new Counter({
    name: 'realtime_events_in_total',
    help: 'Client messages received, by event (Socket.IO) or type (plain WebSocket); anything else counts as "unknown"',
    labelNames: ['protocol', 'event'] as const,
    registers: [this.registry],
  });

  readonly eventsOut = new Counter({
    name: 'realtime_events_out_total',
    help: 'Events published by the server, by event name (one per publish, whatever the number of recipients)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly deliveryLatency = new Histogram({
    name: 'realtime_reading_delivery_seconds',
    help: "From a reading's ts to its reading:new being emitted",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly mqttAccepted = new Counter({
    name: 'mqtt_messages_accepted_total',
    help: 'MQTT sensor messages accepted into the readings pipeline',
    registers: [this.registry],
  });

  readonly mqttRejected = new Counter({
    name: 'mqtt_messages_rejected_total',
    help: 'MQTT sensor messages dropped, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly readingsQueueDepth = new Gauge({
    name: 'readings_write_queue_depth',
    help: 'Accepted readings waiting to be written to the database',
    registers: [this.registry],
    collect: (): void => {
      this.readingsQueueDepth.set(this.readingQueueSource());
    },
  });

  readonly readingsWriteSeconds = new Histogram({
    name: 'readings_write_seconds',
    help: 'Time to write one batch of readings to the database',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly readingsWritten = new Counter({
    name: 'readings_written_total',
    help: 'Readings written to the database',
    registers: [this.registry],
  });

  readonly readingsDropped = new Counter({
    name: 'readings_dropped_total',
    help: 'Accepted readings not stored: queue_full (the write queue was at READINGS_QUEUE_MAX), shutdown, write_failed (refused by the database)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly readingsWriteErrors = new Counter({
    name: 'readings_write_errors_total',
    help: 'Failed batch writes (retried while the database is unreachable)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Every reason shows from the start, at 0, so rate() works before the first rejection.
    for (const reason of REJECT_REASONS) this.mqttRejected.inc({ reason }, 0);
    for (const reason of ['queue_full', 'shutdown', 'write_failed']) this.readingsDropped.inc({ reason }, 0);
  }

  /** Where the connection and user gauges read their values at scrape time. */
  observeConnections(connections: () => Partial<Record<Protocol, number>>, users: () => number): void {
    this.connectionSource = connections;
    this.userSource = users;
  }

  /** Where the connection gauge reads one more protocol's count (a transport registered on its own, such as SSE). */
  observeProtocolConnections(protocol: Protocol, count: () => number): void {
    this.protocolSources.set(protocol, count);
  }

  /** Where the readings write-queue gauge reads its depth at scrape time. */
  observeReadingQueue(depth: () => number): void {
    this.readingQueueSource = depth;
  }
}
