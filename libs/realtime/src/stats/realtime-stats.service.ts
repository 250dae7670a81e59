import { Injectable } from '@nestjs/common';
import { parseTopic } from '#contracts';
import { PlainWebSocketGateway } from '../gateway/plain-websocket.gateway.js';
import { WebSocketService } from '../websocket.service.js';
import { UserSocketsRegistry } from '../connections/user-sockets.registry.js';

export interface RealtimeStats {
  instances: number;
  connections: number;
  connectionsByProtocol: { socketio: number; ws: number };
  users: number;
  topics: Record<string, { subscribers: number }>;
}

/** Connections, users and subscribers per topic, both protocols together. */
@Injectable()
export class RealtimeStatsService {
  constructor(
    private readonly websocket: WebSocketService,
    private readonly plain: PlainWebSocketGateway,
    private readonly userSockets: UserSocketsRegistry,
  ) {}

  async snapshot(): Promise<RealtimeStats> {
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
    return { instances: 1, connections: socketio + ws, connectionsByProtocol: { socketio, ws }, users: this.userSockets.userCount, topics };
  }
}
