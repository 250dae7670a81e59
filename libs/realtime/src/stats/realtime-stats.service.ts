import { Injectable } from '@nestjs/common';
import { parseTopic, type RealtimeStats } from '#contracts';
import { PlainWebSocketGateway } from '../gateway/plain-websocket.gateway.js';
import { WebSocketService } from '../websocket.service.js';
import { ClusterBus } from '../cluster/cluster-bus.js';
import { UserSocketsRegistry } from '../connections/user-sockets.registry.js';

/** One instance's share: users are sent by id so that a user on two instances counts once. */
interface LocalStats extends Omit<RealtimeStats, 'users' | 'total_channels' | 'channels'> {
  userIds: string[];
}

/** Connections, users and subscribers per topic, both protocols together, over every live instance. */
@Injectable()
export class RealtimeStatsService {
  constructor(
    private readonly websocket: WebSocketService,
    private readonly plain: PlainWebSocketGateway,
    private readonly userSockets: UserSocketsRegistry,
    private readonly cluster: ClusterBus,
  ) {
    cluster.handle('stats:local', (reply: (stats: LocalStats) => void) => reply(this.local()));
  }

  async snapshot(): Promise<RealtimeStats> {
    const all = [this.local(), ...(await this.cluster.ask<LocalStats>('stats:local'))];
    const topics: Record<string, { subscribers: number }> = {};
    for (const stats of all) {
      for (const [topic, { subscribers }] of Object.entries(stats.topics)) topics[topic] = { subscribers: (topics[topic]?.subscribers ?? 0) + subscribers };
    }
    const sum = (pick: (stats: LocalStats) => number) => all.reduce((total, stats) => total + pick(stats), 0);
    // The sensor module's shape of the same counts (CONTRACT.md §14): a channel is a topic.
    const channels: Record<string, { connections: number }> = {};
    for (const [topic, { subscribers }] of Object.entries(topics)) channels[topic] = { connections: subscribers };
    return {
      instances: all.length,
      connections: sum((s) => s.connections),
      connectionsByProtocol: { socketio: sum((s) => s.connectionsByProtocol.socketio), ws: sum((s) => s.connectionsByProtocol.ws) },
      users: new Set(all.flatMap((s) => s.userIds)).size,
      topics,
      total_channels: Object.keys(channels).length,
      channels,
    };
  }

  private local(): LocalStats {
    const rooms = this.websocket.localRooms();
    const topics: Record<string, { subscribers: number }> = {};
    const add = (topic: string, count: number) => {
      topics[topic] = { subscribers: (topics[topic]?.subscribers ?? 0) + count };
    };
    for (const [room, members] of rooms) {
      const kind = parseTopic(room).kind;
      if (kind === 'static' || kind === 'sensor') add(room, members.size);
    }
    for (const [topic, count] of this.plain.topicSubscribers()) add(topic, count);
    const socketio = this.websocket.localSocketCount();
    const ws = this.plain.connectionCount;
    return { instances: 1, connections: socketio + ws, connectionsByProtocol: { socketio, ws }, userIds: this.userSockets.userIds(), topics };
  }
}
