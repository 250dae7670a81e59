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
import { ClusterBus } from './cluster/cluster-bus.js';
import { UserSocketsRegistry } from './connections/user-sockets.registry.js';
import { PlainWebSocketGateway } from './gateway/plain-websocket.gateway.js';
import type { GatewayServer } from './gateway/socket.types.js';
import { SubscriptionHub } from './hub/subscription-hub.service.js';
import { ANONYMOUS_ROOM } from './compat/public-access.js';

/**
 * The only way the application emits to clients, Socket.IO and plain WebSocket alike. Other
 * modules inject it; the servers themselves stay private. Every method is typed against the
 * shared event map in `#contracts`.
 */
@Injectable()
export class WebSocketService {
  private readonly logger = new Logger(WebSocketService.name);
  private server: GatewayServer | null = null;

  constructor(
    private readonly userSockets: UserSocketsRegistry,
    private readonly plain: PlainWebSocketGateway,
    private readonly metrics: MetricsService,
    private readonly cluster: ClusterBus,
    private readonly hub: SubscriptionHub,
  ) {
    // `broadcast` has no stream: Socket.IO's Redis adapter carries it to the other instances'
    // sockets, and this message to their plain WebSocket clients.
    cluster.handle('broadcast:ws', (event, payload) => this.plain.broadcast(event, payload as never));
    cluster.handle('presence:count', (userId, reply) => reply(this.userSockets.socketCount(userId)));
  }

  /** Called once by the gateway when the Socket.IO server exists. */
  attach(server: GatewayServer): void {
    this.server = server;
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

  /**
   * To every connection of every instance. It has no stream (no offsets, no history, no
   * recovery): it goes out as before, through Socket.IO's adapter and one cluster message for the
   * plain WebSocket clients elsewhere.
   */
  broadcast<E extends ServerEventName>(event: E, payload: ServerEventPayloads[E]): void {
    const server = this.requireServer(event);
    // A broadcast is no channel: tokenless readers get their public channels and nothing else.
    if (server) emitOn(server.except(ANONYMOUS_ROOM), event, payload);
    this.plain.broadcast(event, payload);
    this.cluster.tell('broadcast:ws', event, payload);
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
    const elsewhere = await this.cluster.ask('presence:count', userId);
    return elsewhere.reduce((sum, count) => sum + count, this.userSockets.socketCount(userId));
  }

  localSocketCount(): number {
    return this.server?.of('/').sockets.size ?? 0;
  }

  /** One publication to the streams: one store call (in a cluster, one Redis round trip per tick, shared), delivered by every instance from the stream feed. */
  private emitToRooms<E extends ServerEventName>(rooms: readonly string[], event: E, payload: ServerEventPayloads[E]): void {
    this.hub.publish(rooms, event, payload);
    this.metrics.eventsOut.inc({ event });
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
