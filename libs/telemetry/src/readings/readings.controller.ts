import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Post, Query, UseGuards } from '@nestjs/common';
import { ErrorCode, normalizeTs, type ParsedReading, type ReadingPayload } from '#contracts';
import { ApiError } from '#http';
import { HttpJwtGuard, Roles } from '#auth';
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
    if (ts === null) throw new ApiError(ErrorCode.VALIDATION_FAILED, HttpStatus.BAD_REQUEST, ['ts must be ms since the epoch or ISO 8601, after 2000 and not in the future']);
    const reading: ParsedReading = { sensorId: body.sensorId, metric: body.metric, value: body.value, ...(body.unit ? { unit: body.unit } : {}), ts };
    const admission = await this.ingest.process(reading);
    if (admission?.ok === false) {
      switch (admission.reason) {
        case 'unknown_sensor':
          throw new ApiError(ErrorCode.NOT_FOUND, HttpStatus.NOT_FOUND, ['sensorId: no such sensor; create it first (SENSOR_AUTO_REGISTER is off)']);
        case 'sensor_limit':
          throw new ApiError(ErrorCode.CONFLICT, HttpStatus.CONFLICT, ['sensorId: MAX_SENSORS reached, no sensor can be registered']);
        case 'metric_limit':
          throw new ApiError(ErrorCode.CONFLICT, HttpStatus.CONFLICT, ['metric: the sensor has MAX_METRICS_PER_SENSOR metrics already']);
        case 'rate_limited':
          throw new ApiError(ErrorCode.RATE_LIMITED, HttpStatus.TOO_MANY_REQUESTS, ['sensorId: over MQTT_DEVICE_RATE_LIMIT readings/s']);
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
