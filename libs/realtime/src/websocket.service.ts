import { Injectable, Logger } from '@nestjs/common';
import {
  userRoom,
  type AchievementUnlockedPayload,
  type LeaderboardUpdatedPayload,
  type NotificationView,
  type RankUpdatedPayload,
  type ServerEventName,
  type ServerEventPayloads,
  type SystemEventPayload,
  type Topic,
  type XpGainedPayload,
} from '#contracts';
import { MetricsService } from '#observability';
import { batchedRoom, ReadingBatcher } from './batching/reading-batcher.js';
import { ClusterBus } from './cluster/cluster-bus.js';
import { UserSocketsRegistry } from './connections/user-sockets.registry.js';
import { PlainWebSocketGateway } from './gateway/plain-websocket.gateway.js';
import type { GatewayServer } from './gateway/socket.types.js';

/** Rooms (null: everyone), event, payload. */
type ForwardedEvent = [rooms: readonly string[] | null, event: ServerEventName, payload: unknown];

/** Bounds one cluster message (a notification to many users is two events per user). */
const MAX_FORWARDS_PER_MESSAGE = 1000;

/**
 * The only way the application emits to clients, Socket.IO and plain WebSocket alike. Other
 * modules inject it; the servers themselves stay private. Every method is typed against the
 * shared event map in `#contracts`.
 */
@Injectable()
export class WebSocketService {
  private readonly logger = new Logger(WebSocketService.name);
  private server: GatewayServer | null = null;
  private forwards: ForwardedEvent[] = [];

  constructor(
    private readonly userSockets: UserSocketsRegistry,
    private readonly plain: PlainWebSocketGateway,
    private readonly metrics: MetricsService,
    private readonly cluster: ClusterBus,
    private readonly batcher: ReadingBatcher,
  ) {
    // The Redis adapter carries Socket.IO deliveries; what it does not carry (plain WebSocket
    // clients, reading batches) other instances forward here.
    cluster.handle('forward:events', (events: ForwardedEvent[]) => {
      for (const [rooms, event, payload] of events) {
        if (rooms) this.deliverBeyondSocketIo(rooms, event, payload as never);
        else this.plain.broadcast(event, payload as never);
      }
    });
    cluster.handle('presence:count', (userId: string, reply: (count: number) => void) => reply(this.userSockets.socketCount(userId)));
  }

  /** Called once by the gateway when the Socket.IO server exists. */
  attach(server: GatewayServer): void {
    this.server = server;
    this.batcher.attach(server);
  }

  emitToUser<E extends ServerEventName>(userId: string, event: E, payload: ServerEventPayloads[E]): void {
    this.emitToRooms([userRoom(userId)], event, payload);
  }

  /** One emit for all the users: a socket gets the event once. */
  emitToUsers<E extends ServerEventName>(userIds: readonly string[], event: E, payload: ServerEventPayloads[E]): void {
    if (userIds.length === 0) return;
    this.emitToRooms(userIds.map(userRoom), event, payload);
  }

  /** A socket subscribed to several of `topics` gets the event once. */
  emitToTopic<E extends ServerEventName>(topics: Topic | readonly Topic[], event: E, payload: ServerEventPayloads[E]): void {
    this.emitToRooms(typeof topics === 'string' ? [topics] : topics, event, payload);
  }

  broadcast<E extends ServerEventName>(event: E, payload: ServerEventPayloads[E]): void {
    const server = this.requireServer(event);
    if (server) emitOn(server, event, payload);
    this.plain.broadcast(event, payload);
    this.forward(null, event, payload);
    this.metrics.eventsOut.inc({ event });
  }

  emitSystemEvent(level: SystemEventPayload['level'], message: string, data?: unknown, topic: Topic = 'system'): void {
    this.emitToTopic(topic, 'system:event', { level, message, ...(data === undefined ? {} : { data }), timestamp: new Date().toISOString() });
  }

  /** For notifications already stored elsewhere; `NotificationsService.notify` stores and emits. */
  emitNotificationToUser(userId: string, notification: NotificationView): void {
    this.emitToUser(userId, 'notification:new', { notification, timestamp: new Date().toISOString() });
  }

  emitNotificationToUsers(userIds: readonly string[], notification: NotificationView): void {
    this.emitToUsers(userIds, 'notification:new', { notification, timestamp: new Date().toISOString() });
  }

  emitAchievementUnlocked(userId: string, achievement: AchievementUnlockedPayload): void {
    this.emitToUser(userId, 'achievement:unlocked', achievement);
  }

  emitXpGained(userId: string, xp: XpGainedPayload): void {
    this.emitToUser(userId, 'xp:gained', xp);
  }

  emitRankUpdated(userId: string, rank: RankUpdatedPayload): void {
    this.emitToUser(userId, 'rank:updated', rank);
  }

  broadcastLeaderboardUpdate(update: LeaderboardUpdatedPayload): void {
    this.broadcast('leaderboard:updated', update);
  }

  async isUserConnected(userId: string): Promise<boolean> {
    return (await this.getUserSocketCount(userId)) > 0;
  }

  /** Sockets of the user on every live instance, both protocols. */
  async getUserSocketCount(userId: string): Promise<number> {
    const elsewhere = await this.cluster.ask<number>('presence:count', userId);
    return elsewhere.reduce((sum, count) => sum + count, this.userSockets.socketCount(userId));
  }

  /** This instance's Socket.IO rooms (topic, user and socket-id rooms) with their members. */
  localRooms(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.server?.of('/').adapter.rooms ?? new Map();
  }

  localSocketCount(): number {
    return this.server?.of('/').sockets.size ?? 0;
  }

  private emitToRooms<E extends ServerEventName>(rooms: readonly string[], event: E, payload: ServerEventPayloads[E]): void {
    const server = this.requireServer(event);
    // Sockets that take a topic in batches get its readings from the batcher instead.
    if (server) emitOn(event === 'reading:new' ? server.to(rooms as string[]).except(rooms.map(batchedRoom)) : server.to(rooms as string[]), event, payload);
    this.deliverBeyondSocketIo(rooms, event, payload);
    this.forward(rooms, event, payload);
    this.metrics.eventsOut.inc({ event });
  }

  /** This instance's plain WebSocket clients and reading batches. */
  private deliverBeyondSocketIo<E extends ServerEventName>(rooms: readonly string[], event: E, payload: ServerEventPayloads[E]): void {
    this.plain.publish(rooms, event, payload);
    this.batcher.offer(rooms, event, payload);
  }

  /**
   * Queues an event for the other instances' plain WebSocket clients and batches (`rooms` null: to
   * everyone). What one tick emits goes in one cluster message, in order: a notification to 1000
   * users is one Redis publish, not 2000.
   */
  private forward(rooms: readonly string[] | null, event: ServerEventName, payload: unknown): void {
    if (!this.cluster.clustered) return;
    if (this.forwards.length === 0) process.nextTick(() => this.flushForwards());
    this.forwards.push([rooms, event, payload]);
    if (this.forwards.length >= MAX_FORWARDS_PER_MESSAGE) this.flushForwards();
  }

  private flushForwards(): void {
    if (this.forwards.length === 0) return;
    const events = this.forwards;
    this.forwards = [];
    this.cluster.tell('forward:events', events);
  }

  private requireServer(event: string): GatewayServer | null {
    if (!this.server) this.logger.warn(`Dropped '${event}': the Socket.IO server is not initialised yet`);
    return this.server;
  }
}

/** Socket.IO's typed `emit` cannot follow a generic event name, so the one cast lives here. */
function emitOn<E extends ServerEventName>(target: { emit: (...args: any[]) => unknown }, event: E, payload: ServerEventPayloads[E]): void {
  target.emit(event, payload);
}
