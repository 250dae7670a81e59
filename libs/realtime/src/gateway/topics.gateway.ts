import { UseFilters, UseGuards, UsePipes } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WsException } from '@nestjs/websockets';
import { ErrorCode, type ClientEventRequests } from '#contracts';
import { WsJwtGuard } from '../auth/ws-jwt.guard.js';
import { SubscribeDto, UnsubscribeDto } from '../dto/subscribe.dto.js';
import { WsAckExceptionFilter } from '../filters/ws-ack-exception.filter.js';
import { wsValidationPipe } from '../filters/ws-validation.pipe.js';
import { authorizeTopic } from '../topics/topic-acl.js';
import type { GatewaySocket } from './socket.types.js';

type Reply<E extends keyof ClientEventRequests> = { ok: true } & ClientEventRequests[E][1];

/** Bounds what one socket can make the server hold. */
export const MAX_TOPICS_PER_SOCKET = 256;

/** Topic subscriptions: each topic is a Socket.IO room, so one emit to several rooms reaches a socket once. */
@UseFilters(WsAckExceptionFilter)
@UsePipes(wsValidationPipe)
@UseGuards(WsJwtGuard)
@WebSocketGateway()
export class TopicsGateway {
  @SubscribeMessage('subscribe')
  async subscribe(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: SubscribeDto): Promise<Reply<'subscribe'>> {
    const decision = authorizeTopic(body.topic, socket.data.identity.role);
    if (!decision.ok) throw new WsException(decision.error);
    // rooms also holds the socket's own id and its user room
    if (!socket.rooms.has(decision.topic) && socket.rooms.size - 2 >= MAX_TOPICS_PER_SOCKET) {
      throw new WsException({ code: ErrorCode.TOO_MANY_TOPICS, message: `At most ${MAX_TOPICS_PER_SOCKET} topics per socket` });
    }
    await socket.join(decision.topic);
    return { ok: true, topic: decision.topic };
  }

  @SubscribeMessage('unsubscribe')
  async unsubscribe(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: UnsubscribeDto): Promise<Reply<'unsubscribe'>> {
    const decision = authorizeTopic(body.topic, socket.data.identity.role);
    if (!decision.ok) throw new WsException(decision.error);
    await socket.leave(decision.topic);
    return { ok: true, topic: decision.topic };
  }
}
