import { Injectable, Logger } from '@nestjs/common';
import type { ReadingPayload, ServerEventName } from '#contracts';
import type { GatewayServer, GatewaySocket } from '../gateway/socket.types.js';

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
  room: string;
  readings: ReadingPayload[];
  timer: NodeJS.Timeout | null;
}

/**
 * `subscribe {topic, batchMs}`: that topic's `reading:new` events reach the socket as
 * `reading:batch {readings}` at most once per `batchMs`. Sockets with the same topic and period
 * form a group (one room, one buffer, one timer, one emit). Every instance sees every publish
 * (the cluster bus forwards them), and each batches for its own sockets only.
 */
@Injectable()
export class ReadingBatcher {
  private readonly logger = new Logger(ReadingBatcher.name);
  private server: GatewayServer | null = null;
  /** topic -> batchMs -> group */
  private readonly groups = new Map<string, Map<number, Group>>();

  attach(server: GatewayServer): void {
    this.server = server;
  }

  /**
   * Subscribes the socket to `topic`, batched or not. A batched socket stays in the topic's room
   * (it gets the topic's other events as usual) and joins `batched:<topic>`, which `reading:new`
   * excludes, and the group room `batch:<ms>:<topic>`, which gets the batches.
   */
  async join(socket: GatewaySocket, topic: string, batchMs: number | undefined): Promise<void> {
    await this.leave(socket, topic);
    if (batchMs === undefined) return socket.join(topic);
    const room = batchRoom(topic, batchMs);
    let byPeriod = this.groups.get(topic);
    if (!byPeriod) {
      byPeriod = new Map();
      this.groups.set(topic, byPeriod);
    }
    if (!byPeriod.has(batchMs)) byPeriod.set(batchMs, { room, readings: [], timer: null });
    await socket.join([topic, batchedRoom(topic), room]);
  }

  /** Takes the socket out of `topic` in every mode. */
  async leave(socket: GatewaySocket, topic: string): Promise<void> {
    await socket.leave(topic);
    for (const room of [...socket.rooms]) if (topicOfBatchRoom(room) === topic) await socket.leave(room);
  }

  /** Called for every publish on this instance and every one forwarded from the cluster. */
  offer(rooms: readonly string[], event: ServerEventName, payload: unknown): void {
    if (event !== 'reading:new' || this.groups.size === 0) return;
    for (const topic of rooms) {
      const byPeriod = this.groups.get(topic);
      if (!byPeriod) continue;
      for (const [batchMs, group] of byPeriod) {
        group.readings.push(payload as ReadingPayload);
        if (!group.timer) {
          group.timer = setTimeout(() => this.flush(topic, batchMs, group), batchMs);
          group.timer.unref();
        }
      }
    }
  }

  private flush(topic: string, batchMs: number, group: Group): void {
    group.timer = null;
    const members = this.server?.of('/').adapter.rooms.get(group.room)?.size ?? 0;
    if (members === 0) {
      // Everyone left: forget the group instead of buffering for nobody.
      this.groups.get(topic)?.delete(batchMs);
      if (this.groups.get(topic)?.size === 0) this.groups.delete(topic);
      return;
    }
    const readings = group.readings;
    group.readings = [];
    if (readings.length > 0) this.server!.local.to(group.room).emit('reading:batch', { readings });
  }

  /** Stops every timer (shutdown). */
  clear(): void {
    for (const byPeriod of this.groups.values()) for (const group of byPeriod.values()) if (group.timer) clearTimeout(group.timer);
    this.groups.clear();
  }
}
