import { Body, Controller, Delete, Get, HttpStatus, Inject, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ErrorCode, withoutUndefined, type Page, type Sensor, type Thresholds } from '#contracts';
import { ApiError } from '#http';
import { CurrentIdentity, HttpJwtGuard, type Identity } from '#auth';
import type { CatalogService } from '../catalog/catalog.service.js';
import { SENSORS } from '../catalog/catalog.tokens.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../catalog/dto/page.query.js';
import { DeviceCredentialsService } from '../devices/device-credentials.service.js';
import { ReadingsPipeline } from '../pipeline/readings-pipeline.service.js';
import { CreateSensorDto, UpdateSensorDto } from './dto/sensor.dto.js';

/**
 * `/api/v1/sensors`: any authenticated user; each write emits `sensor:*` to `sensors`, `general`,
 * `sensor:<id>`. A `user` who creates a sensor owns it; only the owner, `admin` or `service` may
 * change or delete it, and only `admin`/`service` may name someone else as its owner.
 */
@Controller('sensors')
@UseGuards(HttpJwtGuard)
export class SensorsController {
  constructor(
    @Inject(SENSORS) private readonly sensors: CatalogService<Sensor>,
    private readonly credentials: DeviceCredentialsService,
    private readonly pipeline: ReadingsPipeline,
  ) {}

  @Post()
  create(@Body() body: CreateSensorDto, @CurrentIdentity() identity: Identity): Promise<Sensor> {
    checkThresholds(body.thresholds);
    checkOwnerId(body.ownerId, identity);
    const ownerId = isPrivileged(identity) ? body.ownerId : identity.userId;
    return this.sensors.create(withoutUndefined({ ...body, ownerId }));
  }

  /** `{ items, nextCursor }` in id order; `?limit=` (1-1000, default 100) and `?cursor=<nextCursor>`. */
  @Get()
  list(@Query() query: PageQueryDto): Promise<Page<Sensor>> {
    return this.sensors.list({ limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor });
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<Sensor> {
    return this.sensors.get(id);
  }

  @Patch(':id')
  async update(@Param('id') id: string, @Body() body: UpdateSensorDto, @CurrentIdentity() identity: Identity): Promise<Sensor> {
    checkThresholds(body.thresholds);
    checkOwnerId(body.ownerId, identity);
    checkMayChange(await this.sensors.get(id), identity);
    return this.sensors.update(id, withoutUndefined(body));
  }

  /** Also revokes the sensor's device credentials (and disconnects the device) and drops its series state. */
  @Delete(':id')
  async remove(@Param('id') id: string, @CurrentIdentity() identity: Identity): Promise<Sensor> {
    checkMayChange(await this.sensors.get(id), identity);
    const removed = await this.sensors.remove(id);
    await this.credentials.revoke(id);
    await this.pipeline.forget(id);
    return removed;
  }
}

function isPrivileged(identity: Identity): boolean {
  return identity.role === 'admin' || identity.role === 'service';
}

/** A `user` may name only themselves as owner: anomaly notifications must not reach someone who did not ask for them. */
function checkOwnerId(ownerId: string | undefined, identity: Identity): void {
  if (ownerId !== undefined && ownerId !== identity.userId && !isPrivileged(identity)) {
    throw new ApiError(ErrorCode.FORBIDDEN, HttpStatus.FORBIDDEN, ['ownerId: only admin or service may name another owner']);
  }
}

function checkMayChange(sensor: Sensor, identity: Identity): void {
  if (!isPrivileged(identity) && sensor.ownerId !== identity.userId) {
    throw new ApiError(ErrorCode.FORBIDDEN, HttpStatus.FORBIDDEN);
  }
}

function checkThresholds(thresholds: Thresholds | undefined): void {
  if (thresholds?.min !== undefined && thresholds.max !== undefined && thresholds.min > thresholds.max) {
    throw new ApiError(ErrorCode.VALIDATION_FAILED, HttpStatus.BAD_REQUEST, ['thresholds.min must not be greater than thresholds.max']);
  }
}
