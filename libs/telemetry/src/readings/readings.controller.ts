import { BadRequestException, Body, ConflictException, Controller, Get, HttpCode, HttpException, Inject, NotFoundException, Post, Query, UseGuards } from '@nestjs/common';
import { ErrorCode, normalizeTs, type ParsedReading, type ReadingPayload } from '#contracts';
import { HttpJwtGuard, Roles } from '#realtime';
import { ReadingIngestService } from '../pipeline/reading-ingest.service.js';
import { CreateReadingDto, ListReadingsQuery } from './dto/reading.dto.js';
import { READING_HISTORY, type ReadingHistory } from './reading-history.js';

@Controller('readings')
@UseGuards(HttpJwtGuard)
export class ReadingsController {
  constructor(
    private readonly ingest: ReadingIngestService,
    @Inject(READING_HISTORY) private readonly history: ReadingHistory,
  ) {}

  /** The same pipeline as MQTT, for services that speak HTTP. */
  @Post()
  @Roles('service', 'admin')
  @HttpCode(202)
  async create(@Body() body: CreateReadingDto): Promise<{ accepted: ParsedReading }> {
    const ts = normalizeTs(body.ts, Date.now());
    if (ts === null) throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: ['ts must be ms since the epoch or ISO 8601, after 2000 and not in the future'] });
    const reading: ParsedReading = { sensorId: body.sensorId, metric: body.metric, value: body.value, ...(body.unit ? { unit: body.unit } : {}), ts };
    const admission = await this.ingest.process(reading);
    if (admission?.ok === false) {
      switch (admission.reason) {
        case 'unknown_sensor':
          throw new NotFoundException({ statusCode: 404, code: ErrorCode.NOT_FOUND, message: `No sensor '${reading.sensorId}': create it first (SENSOR_AUTO_REGISTER is off)` });
        case 'sensor_limit':
          throw new ConflictException({ statusCode: 409, code: ErrorCode.CONFLICT, message: 'MAX_SENSORS reached: no sensor can be registered' });
        case 'metric_limit':
          throw new ConflictException({ statusCode: 409, code: ErrorCode.CONFLICT, message: `Sensor '${reading.sensorId}' has MAX_METRICS_PER_SENSOR metrics already` });
        case 'rate_limited':
          throw new HttpException({ statusCode: 429, code: ErrorCode.RATE_LIMITED, message: 'Too many readings for this sensor' }, 429);
      }
    }
    return { accepted: reading };
  }

  /** Newest first, from the bounded per-sensor history. */
  @Get()
  recent(@Query() query: ListReadingsQuery): Promise<ReadingPayload[]> {
    return this.history.recent({ sensorId: query.sensorId, metric: query.metric, limit: query.limit ?? 100 });
  }
}
