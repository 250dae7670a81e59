import { Injectable } from '@nestjs/common';
import type { InstanceStats as LocalStats, RealtimeStats } from '#contracts';
import { PlainWebSocketGateway } from '../gateway/plain-websocket.gateway.js';
import { WebSocketService } from '../websocket.service.js';
import { ClusterBus } from '../cluster/cluster-bus.js';
import { UserSocketsRegistry } from '../connections/user-sockets.registry.js';
import { SubscriptionHub } from '../hub/subscription-hub.service.js';
import { SseTransport } from '../sse/sse.transport.js';

/** Connections, users and subscribers per topic, every transport together, over every live instance. */
@Injectable()
export class RealtimeStatsService {
  constructor(
    private readonly websocket: WebSocketService,
    private readonly plain: PlainWebSocketGateway,
    private readonly userSockets: UserSocketsRegistry,
    private readonly cluster: ClusterBus,
    private readonly hub: SubscriptionHub,
    private readonly sse: SseTransport,
  ) {
    cluster.handle('stats:local', (reply) => reply(this.local()));
  }

  async snapshot(): Promise<RealtimeStats> {
    const all = [this.local(), ...(await this.cluster.ask('stats:local'))];
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
      connectionsByProtocol: {
        socketio: sum((s) => s.connectionsByProtocol.socketio),
        ws: sum((s) => s.connectionsByProtocol.ws),
        // An instance of an older version sends no `sse` count.
        sse: sum((s) => s.connectionsByProtocol.sse ?? 0),
      },
      users: new Set(all.flatMap((s) => s.userIds)).size,
      topics,
      total_channels: Object.keys(channels).length,
      channels,
    };
  }

  private local(): LocalStats {
    // The hub is the one record of who holds which topic, every transport together.
    const topics: Record<string, { subscribers: number }> = {};
    for (const [topic, subscribers] of this.hub.topicSubscribers()) topics[topic] = { subscribers };
    const socketio = this.websocket.localSocketCount();
    const ws = this.plain.connectionCount;
    const sse = this.sse.connectionCount;
    return { instances: 1, connections: socketio + ws + sse, connectionsByProtocol: { socketio, ws, sse }, userIds: this.userSockets.userIds(), topics };
  }
}
