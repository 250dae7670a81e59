import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query, UseGuards } from '@nestjs/common';
import { checkShape, ErrorCode, EVENT_SCHEMAS, isServerEventName, parseTopic, type RealtimeStats, type ServerEventPayloads, type Topic } from '#contracts';
import { HttpJwtGuard, Roles } from '#auth';
import { ApiError } from '#http';
import { RealtimeStatsService } from '../stats/realtime-stats.service.js';
import { WebSocketService } from '../websocket.service.js';
import { PublishDto, TestEventDto, TestEventQuery } from './dto/publish.dto.js';

/** Field errors name the field, never repeat what the client sent. */
function badRequest(messages: string[]): ApiError {
  return new ApiError(ErrorCode.VALIDATION_FAILED, HttpStatus.BAD_REQUEST, messages);
}

/** A topic a server may publish to: any known topic (user rooms are reached with emitToUser, not here). */
function publishableTopic(topic: string): Topic {
  const parsed = parseTopic(topic);
  if (parsed.kind === 'static' || parsed.kind === 'sensor') return parsed.topic;
  throw badRequest(['topic must be a topic (general, sensors, readings, locations, anomalies, predictions, system, sensor:<id>)']);
}

/** Operations over HTTP: cluster stats, server-side publish, and a test event. */
@Controller()
@UseGuards(HttpJwtGuard)
export class RealtimeOpsController {
  constructor(
    private readonly stats: RealtimeStatsService,
    private readonly websocket: WebSocketService,
  ) {}

  @Get('ws/stats')
  @Roles('admin')
  all(): Promise<RealtimeStats> {
    return this.stats.snapshot();
  }

  @Get('ws/stats/:topic')
  @Roles('admin')
  async topic(@Param('topic') topic: string): Promise<{ topic: string; subscribers: number; connections: number }> {
    const kind = parseTopic(topic).kind;
    if (kind !== 'static' && kind !== 'sensor') throw new ApiError(ErrorCode.UNKNOWN_TOPIC, HttpStatus.NOT_FOUND);
    const { topics } = await this.stats.snapshot();
    const subscribers = topics[topic]?.subscribers ?? 0;
    // `connections` is the sensor module's name for the same count (CONTRACT.md §14).
    return { topic, subscribers, connections: subscribers };
  }

  /** Publishes a contract event to a topic, for services that do not run inside this app. */
  @Post('publish')
  @Roles('service', 'admin')
  @HttpCode(202)
  publish(@Body() body: PublishDto): { published: { topic: string; event: string } } {
    const topic = publishableTopic(body.topic);
    if (!isServerEventName(body.event)) throw badRequest(['event must be an event of the shared event map']);
    const problems = checkShape(body.data, EVENT_SCHEMAS[body.event], 'data');
    if (problems.length > 0) throw badRequest(problems);
    this.websocket.emitToTopic(topic, body.event, body.data as ServerEventPayloads[typeof body.event]);
    return { published: { topic, event: body.event } };
  }

  @Post('ws/test-event')
  @Roles('admin')
  @HttpCode(202)
  testEvent(@Body() body: TestEventDto, @Query() query: TestEventQuery): { published: { topic: string; event: 'system:event' } } {
    // The body form, or the sensor module's query form `?channel=&message=` (CONTRACT.md §14).
    if (body.topic !== undefined && query.channel !== undefined && body.topic !== query.channel)
      throw badRequest(['topic and ?channel= name different topics']);
    if (body.message !== undefined && query.message !== undefined && body.message !== query.message) throw badRequest(['message and ?message= differ']);
    const message = body.message ?? query.message;
    if (message === undefined) throw badRequest(['message must be a non-empty string (in the body or as ?message=)']);
    const named = body.topic ?? query.channel;
    const topic = named === undefined ? 'system' : publishableTopic(named);
    this.websocket.emitSystemEvent('info', message, { test: true }, topic);
    return { published: { topic, event: 'system:event' } };
  }
}
