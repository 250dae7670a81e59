import type { Socket } from 'node:net';
import { Injectable } from '@nestjs/common';
import type { StreamMeta } from '#contracts';
import type { Identity } from '#auth';
import { batchedRoom, ReadingBatcher } from '../batching/reading-batcher.js';
import type { DeliveryGroup, HoldOptions, HubTransport, Subscriber } from '../hub/subscriber.js';
import type { StreamPublication } from '../streams/stream-history.js';
import type { EngineConnection, GatewayServer, GatewaySocket } from './socket.types.js';

export interface SocketIoSubscriber extends Subscriber {
  readonly socket: GatewaySocket;
}

/**
 * Socket.IO as a transport of the subscription hub. The hub decides who gets what; this class
 * mirrors the hub's membership into Socket.IO rooms (its delivery index: a room emit encodes the
 * packet once for all its sockets) and emits each publication once per group with its `meta`.
 * Emits are `server.local`: every instance delivers from the stream feed, so the Redis adapter
 * carries no publication (it keeps presence, stats and `broadcast`).
 */
@Injectable()
export class SocketIoTransport implements HubTransport<SocketIoSubscriber> {
  readonly protocol = 'socketio';
  private server: GatewayServer | null = null;

  constructor(private readonly batcher: ReadingBatcher) {}

  attach(server: GatewayServer): void {
    this.server = server;
    this.batcher.attach(server);
    coalesceFlushes(server.engine as unknown as FlushingEngine);
  }

  /** The hub's view of a socket; its identity is the socket's own (replaced by `auth:refresh`). */
  subscriberOf(socket: GatewaySocket): SocketIoSubscriber {
    return {
      id: socket.id,
      transport: this,
      socket,
      get identity(): Identity {
        return socket.data.identity;
      },
      set identity(identity: Identity) {
        socket.data.identity = identity;
      },
    };
  }

  deliver(publication: StreamPublication, group: DeliveryGroup<SocketIoSubscriber>): void {
    const meta = publication.metaFor(group.streams);
    if (group.room) {
      const server = this.server;
      if (!server) return;
      const { stream, except } = group.room;
      // Sockets taking the stream in batches get its readings from the batcher.
      const excluded = publication.event === 'reading:new' ? [...except, batchedRoom(stream)] : except;
      const target = excluded.length > 0 ? server.local.to(stream).except(excluded as string[]) : server.local.to(stream);
      return emitWithMeta(target, publication, meta);
    }
    let only: SocketIoSubscriber | null = null;
    let ids: string[] | null = null;
    for (const member of group.members) {
      if (only === null && ids === null) only = member;
      else (ids ??= [only!.socket.id]).push(member.socket.id);
    }
    if (ids) {
      if (this.server) emitWithMeta(this.server.local.to(ids), publication, meta);
    } else if (only) {
      emitWithMeta(only.socket, publication, meta);
    }
  }

  reset(subscriber: SocketIoSubscriber, streams: readonly string[]): void {
    subscriber.socket.emit('stream:reset', { streams: [...streams] });
  }

  attached(subscriber: SocketIoSubscriber, stream: string, options: HoldOptions): void {
    this.batcher.join(subscriber.socket, stream, options.batchMs);
  }

  detached(subscriber: SocketIoSubscriber, stream: string): void {
    this.batcher.leave(subscriber.socket, stream);
  }
}

/** Socket.IO's typed `emit` cannot follow a generic event name, so the one cast lives here. */
function emitWithMeta(target: { emit: (...args: any[]) => unknown }, publication: StreamPublication, meta: StreamMeta): void {
  // No stream named: a publication without offsets (Redis away), sent as a plain event.
  for (const _ in meta.positions) return void target.emit(publication.event, publication.payload, meta);
  target.emit(publication.event, publication.payload);
}

/** The engine.io server's `flush` and `drain`: emitted right before and right after a connection hands its queued packets to its transport. */
interface FlushingEngine {
  on(event: 'flush', listener: (conn: EngineConnection, packets: readonly unknown[]) => void): unknown;
  on(event: 'drain', listener: (conn: EngineConnection) => void): unknown;
}

/** The TCP socket under engine.io's websocket transport (`ws` keeps it as `_socket`); polling has none. */
function tcpSocketOf(conn: EngineConnection): Socket | null {
  if (conn.transport.name !== 'websocket') return null;
  return (conn.transport as unknown as { socket?: { _socket?: Socket } }).socket?._socket ?? null;
}

/**
 * engine.io's websocket transport writes each queued packet as a frame of its own, one system
 * call (and, on loopback, one TCP segment) each: a socket catching up (a replay of 100 events
 * after a reconnect) would cost 100 writes. Corked for the flush, the frames leave together.
 * Order and content are unchanged; nothing waits (the flush is synchronous and `drain` uncorks).
 */
function coalesceFlushes(engine: FlushingEngine): void {
  const corked = new WeakMap<EngineConnection, Socket>();
  const uncork = (conn: EngineConnection) => {
    const socket = corked.get(conn);
    if (!socket) return;
    corked.delete(conn);
    socket.uncork();
  };
  engine.on('flush', (conn, packets) => {
    // Already corked (a flush whose drain never came, uncorked on the next tick): one cork per uncork.
    if (packets.length < 2 || corked.has(conn)) return;
    const socket = tcpSocketOf(conn);
    if (!socket || socket.destroyed) return;
    socket.cork();
    corked.set(conn, socket);
    // Should the transport throw before `drain`, the socket must not stay corked.
    process.nextTick(uncork, conn);
  });
  engine.on('drain', uncork);
}
