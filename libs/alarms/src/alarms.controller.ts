import { Controller, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Query, UseGuards } from '@nestjs/common';
import { ErrorCode, type AlarmCounts, type AlarmPayload, type Page } from '#contracts';
import { CurrentIdentity, HttpJwtGuard, type Identity } from '#auth';
import { ApiError } from '#http';
import { toPayload } from './alarm-state-machine.js';
import { AlarmsService, type AlarmCommandResult } from './alarms.service.js';
import { ListAlarmsQuery } from './dto/list-alarms.query.js';

const DEFAULT_PAGE_SIZE = 50;

/** `/api/v1/alarms`: every authenticated user reads them (as the `alarms` topic); acknowledging and clearing as for changing the sensor. */
@Controller('alarms')
@UseGuards(HttpJwtGuard)
export class AlarmsController {
  constructor(private readonly alarms: AlarmsService) {}

  /** Newest first; `nextCursor` as `?cursor=` for the next page. */
  @Get()
  async list(@Query() query: ListAlarmsQuery): Promise<Page<AlarmPayload>> {
    const { limit = DEFAULT_PAGE_SIZE, ...filters } = query;
    const page = await this.alarms.list({ ...filters, limit });
    return { items: page.items.map(toPayload), nextCursor: page.nextCursor };
  }

  /** For badges: active by severity, unacknowledged, cleared. */
  @Get('counts')
  counts(): Promise<AlarmCounts> {
    return this.alarms.counts();
  }

  @Post(':id/ack')
  @HttpCode(200)
  async acknowledge(@CurrentIdentity() identity: Identity, @Param('id', ParseUUIDPipe) id: string): Promise<AlarmPayload> {
    return answer(await this.alarms.acknowledge(id, identity));
  }

  @Post(':id/clear')
  @HttpCode(200)
  async clear(@CurrentIdentity() identity: Identity, @Param('id', ParseUUIDPipe) id: string): Promise<AlarmPayload> {
    return answer(await this.alarms.clear(id, identity));
  }
}

function answer(result: AlarmCommandResult): AlarmPayload {
  if (result.ok) return result.alarm;
  throw new ApiError(result.code, result.code === ErrorCode.NOT_FOUND ? HttpStatus.NOT_FOUND : HttpStatus.FORBIDDEN);
}
