import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query, UseGuards } from '@nestjs/common';
import { ErrorCode, normalizeTs, type ParsedReading, type ReadingPayload } from '#contracts';
import { ApiError } from '#http';
import { HttpJwtGuard, Roles } from '#auth';
import { ReadingIngestService } from '../pipeline/reading-ingest.service.js';
import { CreateReadingDto, ListReadingsQuery } from './dto/reading.dto.js';
import { ReadingWriter } from './reading-writer.js';
import { ReadingsRepository, type BucketPoint } from './readings.repository.js';

/** At most this many buckets per query: one request cannot ask for millions of rows. */
export const MAX_BUCKETS = 10_000;
/** `from` when a bucketed query gives none: a day before `to`. */
const DEFAULT_BUCKET_RANGE_MS = 86_400_000;
const DEFAULT_LIMIT = 100;

@Controller('readings')
@UseGuards(HttpJwtGuard)
export class ReadingsController {
  constructor(
    private readonly ingest: ReadingIngestService,
    private readonly readings: ReadingsRepository,
    private readonly writer: ReadingWriter,
  ) {}

  /** The same pipeline as MQTT, for services that speak HTTP. */
  @Post()
  @Roles('service', 'admin')
  @HttpCode(202)
  async create(@Body() body: CreateReadingDto): Promise<{ accepted: ParsedReading }> {
    const ts = normalizeTs(body.ts, Date.now());
    if (ts === null) throw badRequest('ts must be ms since the epoch or ISO 8601, after 2000 and not in the future');
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
        case 'store_unavailable':
          throw new ApiError(ErrorCode.INTERNAL_ERROR, HttpStatus.SERVICE_UNAVAILABLE, ['sensorId: the database that knows this sensor is unreachable; retry']);
      }
    }
    return { accepted: reading };
  }

  /**
   * Raw readings, newest first (an array, as before), between `from` and `to` (inclusive), at
   * most `limit` (1-1000, default 100). With `bucket`: `{ items: [{ ts, value }] }`, one `agg`
   * (default `avg`) per non-empty bucket, oldest first; `ts` is the bucket's start (a multiple of
   * its width since the epoch). A query sees every reading this instance accepted before it.
   */
  @Get()
  async list(@Query() query: ListReadingsQuery): Promise<ReadingPayload[] | { items: BucketPoint[] }> {
    if (query.agg !== undefined && query.bucket === undefined) throw badRequest('agg needs bucket');
    if (query.bucket !== undefined && query.metric === undefined) throw badRequest('metric is required with bucket');
    if (query.from !== undefined && query.to !== undefined && query.from > query.to) throw badRequest('from must not be after to');
    await this.writer.flushed();
    if (query.bucket === undefined) {
      return this.readings.raw({ sensorId: query.sensorId, metric: query.metric, from: query.from, to: query.to, limit: query.limit ?? DEFAULT_LIMIT });
    }
    const to = query.to ?? Date.now();
    const from = query.from ?? Math.max(0, to - DEFAULT_BUCKET_RANGE_MS);
    if (from > to) throw badRequest('from must not be after to');
    const buckets = Math.floor(to / query.bucket) - Math.floor(from / query.bucket) + 1;
    if (buckets > MAX_BUCKETS) throw badRequest(`from-to spans ${buckets} buckets; at most ${MAX_BUCKETS}: narrow the range or widen the bucket`);
    const items = await this.readings.buckets({ sensorId: query.sensorId, metric: query.metric!, from, to, bucketMs: query.bucket, agg: query.agg ?? 'avg' });
    return { items };
  }
}

function badRequest(detail: string): ApiError {
  return new ApiError(ErrorCode.VALIDATION_FAILED, HttpStatus.BAD_REQUEST, [detail]);
}
