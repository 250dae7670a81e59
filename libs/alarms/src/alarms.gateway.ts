import { UseFilters, UseGuards, UsePipes } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WsException } from '@nestjs/websockets';
import { ERROR_MESSAGES, type AlarmPayload, type ClientEventRequests, type ErrorBody } from '#contracts';
import { WsJwtGuard } from '#auth';
import { WsAckExceptionFilter, wsValidationPipe, type GatewaySocket } from '#realtime';
import { AlarmsService, type AlarmCommandResult } from './alarms.service.js';
import { AlarmCommandDto } from './dto/alarm-command.dto.js';

type Reply<E extends keyof ClientEventRequests> = { ok: true } & ClientEventRequests[E][1];

/** `alarm:ack { alarmId }` and `alarm:clear { alarmId }`, acked like every other command. */
@UseFilters(WsAckExceptionFilter)
@UsePipes(wsValidationPipe)
@UseGuards(WsJwtGuard)
@WebSocketGateway()
export class AlarmsGateway {
  constructor(private readonly alarms: AlarmsService) {}

  @SubscribeMessage('alarm:ack')
  async acknowledge(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: AlarmCommandDto): Promise<Reply<'alarm:ack'>> {
    return reply(await this.alarms.acknowledge(body.alarmId, socket.data.identity));
  }

  @SubscribeMessage('alarm:clear')
  async clear(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: AlarmCommandDto): Promise<Reply<'alarm:clear'>> {
    return reply(await this.alarms.clear(body.alarmId, socket.data.identity));
  }
}

function reply(result: AlarmCommandResult): { ok: true; alarm: AlarmPayload } {
  if (result.ok) return { ok: true, alarm: result.alarm };
  const error: ErrorBody = { code: result.code, message: ERROR_MESSAGES[result.code] };
  throw new WsException(error);
}
