import { UseFilters, UseGuards, UsePipes } from '@nestjs/common';
import { Ack, ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WsException } from '@nestjs/websockets';
import type { ClientEventRequests } from '#contracts';
import { WsJwtGuard } from '#auth';
import { SubscribeDto, UnsubscribeDto } from '../dto/subscribe.dto.js';
import { WsAckExceptionFilter } from '../filters/ws-ack-exception.filter.js';
import { wsValidationPipe } from '../filters/ws-validation.pipe.js';
import { HubError, SubscriptionHub } from '../hub/subscription-hub.service.js';
import type { GatewaySocket } from './socket.types.js';

type Reply<E extends keyof ClientEventRequests> = { ok: true } & ClientEventRequests[E][1];

export { MAX_TOPICS_PER_SOCKET } from '../hub/subscription-hub.service.js';

/** Topic subscriptions over Socket.IO: a thin adapter over the subscription hub. */
@UseFilters(WsAckExceptionFilter)
@UsePipes(wsValidationPipe)
@UseGuards(WsJwtGuard)
@WebSocketGateway()
export class TopicsGateway {
  constructor(private readonly hub: SubscriptionHub) {}

  /**
   * `{topic, since?, replay?, batchMs?}`. The ack `{ok, topic, epoch, offset, recovered}` is sent by
   * the hub's join itself, before the replayed events (returning it would send it after them).
   */
  @SubscribeMessage('subscribe')
  async subscribe(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: SubscribeDto, @Ack() ack: unknown): Promise<void> {
    // Typed `unknown` so the validation pipe leaves it alone (its metatype is then Object).
    const { topic, since, replay, batchMs } = body;
    try {
      await this.hub.subscribe(
        socket.id,
        topic,
        {
          ...(since ? { since: { epoch: since.epoch, offset: since.offset } } : {}),
          ...(replay === undefined ? {} : { replay }),
          ...(batchMs === undefined ? {} : { batchMs }),
        },
        (joined) => {
          if (typeof ack === 'function') (ack as (reply: Reply<'subscribe'>) => void)({ ok: true, ...joined, ...(batchMs === undefined ? {} : { batchMs }) });
        },
      );
    } catch (error) {
      if (error instanceof HubError) throw new WsException(error.body);
      throw error;
    }
  }

  @SubscribeMessage('unsubscribe')
  async unsubscribe(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: UnsubscribeDto): Promise<Reply<'unsubscribe'>> {
    try {
      return { ok: true, topic: await this.hub.unsubscribe(socket.id, body.topic) };
    } catch (error) {
      if (error instanceof HubError) throw new WsException(error.body);
      throw error;
    }
  }
}
