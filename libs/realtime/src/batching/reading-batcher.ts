import { Injectable } from '@nestjs/common';
import type { ReadingPayload } from '#contracts';
import type { GatewayServer, GatewaySocket } from '../gateway/socket.types.js';
import type { StreamPublication } from '../streams/stream-history.js';

/** Socket.IO room of the sockets that take `topic` in batches of `batchMs`. */
export const batchRoom = (topic: string, batchMs: number): string => `batch:${batchMs}:${topic}`;

/** Every socket that takes `topic` in batches, whatever the period: excluded from its `reading:new`. */
export const batchedRoom = (topic: string): string => `batched:${topic}`;

/** The topic of a batching room, or null for any other room. */
export function topicOfBatchRoom(room: string): string | null {
  const match = /^(?:batch:\d+|batched):(.+)$/.exec(room);
  return match ? match[1]! : null;
}

interface Group {
  topic: string;
  batchMs: number;
  room: string;
  readings: ReadingPayload[];
  timer: NodeJS.Timeout | null;
}

/**
 * `subscribe {topic, batchMs}`: that topic's `reading:new` events reach the socket as
 * `reading:batch {readings}` at most once per `batchMs`. Sockets with the same topic and period
 * form a group (one room, one buffer, one timer, one emit). Every instance sees every publication
 * (the hub hands it the live feed's `reading:new`), and each batches for its own sockets only. A group lives
 * exactly as long as its room: it is freed when the room's last socket leaves (unsubscribe or
 * disconnect; the adapter's `delete-room`), so subscribers cannot make the server hold groups for nobody.
 */
@Injectable()
export class ReadingBatcher {
  private server: GatewayServer | null = null;
  /** topic -> batchMs -> group */
  private readonly groups = new Map<string, Map<number, Group>>();
  /** group room -> group, to free a group when its room goes */
  private readonly groupsByRoom = new Map<string, Group>();

  attach(server: GatewayServer): void {
    this.server = server;
    // Fires on leave and on disconnect alike, once, when the room's last socket goes.
    server.of('/').adapter.on('delete-room', (room: string) => this.free(room));
  }

  /** Groups held on this instance (each has at least one socket). */
  get groupCount(): number {
    return this.groupsByRoom.size;
  }

  /**
   * Subscribes the socket to `topic`, batched or not. A batched socket stays in the topic's room
   * (it gets the topic's other events as usual) and joins `batched:<topic>`, which `reading:new`
   * excludes, and the group room `batch:<ms>:<topic>`, which gets the batches.
   */
  join(socket: GatewaySocket, topic: string, batchMs: number | undefined): void {
    this.leave(socket, topic);
    if (batchMs === undefined) return void socket.join(topic);
    const room = batchRoom(topic, batchMs);
    // Local membership is set synchronously (the Redis adapter only adds its own bookkeeping after).
    void socket.join([topic, batchedRoom(topic), room]);
    // A socket that disconnected meanwhile joined nothing: no group for an empty room.
    if (this.groupsByRoom.has(room) || !this.server?.of('/').adapter.rooms.get(room)?.has(socket.id)) return;
    const group: Group = { topic, batchMs, room, readings: [], timer: null };
    this.groupsByRoom.set(room, group);
    let byPeriod = this.groups.get(topic);
    if (!byPeriod) {
      byPeriod = new Map();
      this.groups.set(topic, byPeriod);
    }
    byPeriod.set(batchMs, group);
  }

  /** Takes the socket out of `topic` in every mode. */
  leave(socket: GatewaySocket, topic: string): void {
    void socket.leave(topic);
    for (const room of [...socket.rooms]) if (topicOfBatchRoom(room) === topic) void socket.leave(room);
  }

  /** Every `reading:new` of the live feed (this instance's publications and the cluster's). */
  offer(publication: StreamPublication): void {
    if (publication.event !== 'reading:new' || this.groups.size === 0) return;
    for (const topic in publication.positions) {
      const byPeriod = this.groups.get(topic);
      if (!byPeriod) continue;
      for (const [batchMs, group] of byPeriod) {
        group.readings.push(publication.payload as ReadingPayload);
        if (!group.timer) {
          group.timer = setTimeout(() => this.flush(group), batchMs);
          group.timer.unref();
        }
      }
    }
  }

  private flush(group: Group): void {
    group.timer = null;
    const readings = group.readings;
    group.readings = [];
    if (readings.length > 0) this.server?.local.to(group.room).emit('reading:batch', { readings });
  }

  /** The room of a group is gone: drop its buffer and timer. */
  private free(room: string): void {
    const group = this.groupsByRoom.get(room);
    if (!group) return;
    if (group.timer) clearTimeout(group.timer);
    this.groupsByRoom.delete(room);
    const byPeriod = this.groups.get(group.topic);
    byPeriod?.delete(group.batchMs);
    if (byPeriod?.size === 0) this.groups.delete(group.topic);
  }

  /** Stops every timer (shutdown). */
  clear(): void {
    for (const group of this.groupsByRoom.values()) if (group.timer) clearTimeout(group.timer);
    this.groups.clear();
    this.groupsByRoom.clear();
  }
}
