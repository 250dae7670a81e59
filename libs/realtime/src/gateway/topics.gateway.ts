import { UseFilters, UseGuards, UsePipes } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WsException } from '@nestjs/websockets';
import { ErrorCode, type ClientEventRequests } from '#contracts';
import { WsJwtGuard } from '#auth';
import { SubscribeDto, UnsubscribeDto } from '../dto/subscribe.dto.js';
import { WsAckExceptionFilter } from '../filters/ws-ack-exception.filter.js';
import { wsValidationPipe } from '../filters/ws-validation.pipe.js';
import { ReadingBatcher, topicOfBatchRoom } from '../batching/reading-batcher.js';
import { authorizeTopic } from '../topics/topic-acl.js';
import type { GatewaySocket } from './socket.types.js';

type Reply<E extends keyof ClientEventRequests> = { ok: true } & ClientEventRequests[E][1];

/** Bounds what one socket can make the server hold. */
export const MAX_TOPICS_PER_SOCKET = 256;

/** Topics held, in either mode (rooms also hold the socket's id, its user room and batching rooms). */
function topicCount(socket: GatewaySocket): number {
  let count = 0;
  for (const room of socket.rooms) if (room !== socket.id && !room.startsWith('user:') && topicOfBatchRoom(room) === null) count += 1;
  return count;
}

/** Topic subscriptions: each topic is a Socket.IO room, so one emit to several rooms reaches a socket once. */
@UseFilters(WsAckExceptionFilter)
@UsePipes(wsValidationPipe)
@UseGuards(WsJwtGuard)
@WebSocketGateway()
export class TopicsGateway {
  constructor(private readonly batcher: ReadingBatcher) {}

  @SubscribeMessage('subscribe')
  async subscribe(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: SubscribeDto): Promise<Reply<'subscribe'>> {
    const decision = authorizeTopic(body.topic, socket.data.identity.role);
    if (!decision.ok) throw new WsException(decision.error);
    if (!socket.rooms.has(decision.topic) && topicCount(socket) >= MAX_TOPICS_PER_SOCKET) {
      throw new WsException({ code: ErrorCode.TOO_MANY_TOPICS, message: `At most ${MAX_TOPICS_PER_SOCKET} topics per socket` });
    }
    await this.batcher.join(socket, decision.topic, body.batchMs);
    return { ok: true, topic: decision.topic, ...(body.batchMs === undefined ? {} : { batchMs: body.batchMs }) };
  }

  @SubscribeMessage('unsubscribe')
  async unsubscribe(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: UnsubscribeDto): Promise<Reply<'unsubscribe'>> {
    const decision = authorizeTopic(body.topic, socket.data.identity.role);
    if (!decision.ok) throw new WsException(decision.error);
    await this.batcher.leave(socket, decision.topic);
    return { ok: true, topic: decision.topic };
  }
}
