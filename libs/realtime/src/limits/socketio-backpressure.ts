import { Inject, Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '#observability';
import type { EngineConnection } from '../gateway/socket.types.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime.options.js';

/** An engine.io packet as `packetCreate` sees it. */
interface EnginePacket {
  data?: string | Buffer | ArrayBuffer;
}

/** The engine.io server: its `connection` event is all this needs. */
interface EngineServer {
  on(event: 'connection', listener: (conn: EngineConnection) => void): unknown;
}

/** An engine.io socket as `packetCreate` sees it (`writeBuffer` is private in engine.io's types). */
interface QueueingConnection {
  transport: { writable: boolean };
  writeBuffer: readonly unknown[];
}

/**
 * `WS_MAX_BUFFERED_BYTES` for Socket.IO, on both transports: a client with more than that waiting
 * for it is disconnected (log + `realtime_slow_consumers_total`); the others keep receiving.
 *
 * What waits for a client is measured where it piles up:
 * - engine.io's `writeBuffer`: packets created while the transport is not writable (websocket:
 *   the last batch is not yet written to the TCP socket; polling: no GET is pending). Counted as
 *   they are created (`packetCreate`: UTF-16 length for text, bytes for binary); an empty
 *   `writeBuffer` means it was flushed, and the count starts again;
 * - for the websocket transport, the underlying `ws` socket's `bufferedAmount`: the flushed batch
 *   still in Node's socket buffer.
 *
 * Hot path: a writable transport (every client that keeps up) costs one call of a shared listener
 * (`this` is the engine.io socket: no closure per connection) and one property read per packet.
 */
@Injectable()
export class SocketIoBackpressure {
  private readonly logger = new Logger(SocketIoBackpressure.name);
  /** Bytes of the packets in each connection's `writeBuffer` (all created while it was not writable). */
  private readonly queuedBytes = new WeakMap<QueueingConnection, number>();
  private readonly dropping = new WeakSet<EngineConnection>();
  private readonly onPacketCreate: (this: QueueingConnection, packet: EnginePacket) => void;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(REALTIME_OPTIONS) options: ResolvedRealtimeOptions,
  ) {
    const { maxBufferedBytes } = options;
    const queuedBytes = this.queuedBytes;
    const backpressure = this;
    this.onPacketCreate = function (this: QueueingConnection, packet: EnginePacket) {
      // Writable: this packet and everything queued go out now.
      if (this.transport.writable) return;
      const queued = (this.writeBuffer.length === 0 ? 0 : (queuedBytes.get(this) ?? 0)) + packetSize(packet);
      queuedBytes.set(this, queued);
      const waiting = queued + transportBufferedBytes(this as unknown as EngineConnection);
      if (waiting > maxBufferedBytes) backpressure.drop(this as unknown as EngineConnection, waiting);
    };
  }

  attach(engine: EngineServer): void {
    engine.on('connection', (conn) => {
      try {
        conn.on('packetCreate', this.onPacketCreate as (packet: EnginePacket) => void);
      } catch (error) {
        // Guarded like every connection listener: an unwatched connection is not kept.
        this.metrics.listenerErrors.inc({ listener: 'engine_connection' });
        this.logger.warn({ msg: 'connection listener threw', error: error instanceof Error ? error.message : String(error) });
        conn.close(true);
      }
    });
  }

  /** On the next tick: closing inside `packetCreate` would pull the socket out of an emit in progress. */
  private drop(conn: EngineConnection, waiting: number): void {
    if (this.dropping.has(conn)) return;
    this.dropping.add(conn);
    this.metrics.slowConsumers.inc({ protocol: 'socketio' });
    this.logger.warn({
      msg: 'slow consumer dropped',
      protocol: 'socketio',
      transport: conn.transport.name,
      address: conn.remoteAddress,
      bufferedBytes: waiting,
    });
    process.nextTick(() => {
      const ws = websocketOf(conn);
      // Discard: a client that does not read would never take what is queued, nor a close frame.
      conn.close(true);
      ws?.terminate();
    });
  }
}

function packetSize(packet: EnginePacket): number {
  const { data } = packet;
  if (data === undefined) return 1;
  return typeof data === 'string' ? data.length : data.byteLength;
}

interface BufferedWebSocket {
  bufferedAmount: number;
  terminate(): void;
}

/** The `ws` socket under engine.io's websocket transport (polling has none). */
function websocketOf(conn: EngineConnection): BufferedWebSocket | null {
  if (conn.transport.name !== 'websocket') return null;
  return (conn.transport as unknown as { socket?: BufferedWebSocket }).socket ?? null;
}

function transportBufferedBytes(conn: EngineConnection): number {
  return websocketOf(conn)?.bufferedAmount ?? 0;
}
