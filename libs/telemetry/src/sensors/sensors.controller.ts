import { BadRequestException, Body, Controller, Delete, Get, Inject, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { withoutUndefined, type Page, type Sensor, type Thresholds } from '#contracts';
import { HttpJwtGuard } from '#realtime';
import type { CatalogService } from '../catalog/catalog.service.js';
import { SENSORS } from '../catalog/catalog.tokens.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../catalog/dto/page.query.js';
import { CreateSensorDto, UpdateSensorDto } from './dto/sensor.dto.js';

/** `/api/v1/sensors`: any authenticated user; each write emits `sensor:*` to `sensors`, `general`, `sensor:<id>`. */
@Controller('sensors')
@UseGuards(HttpJwtGuard)
export class SensorsController {
  constructor(@Inject(SENSORS) private readonly sensors: CatalogService<Sensor>) {}

  @Post()
  create(@Body() body: CreateSensorDto): Promise<Sensor> {
    checkThresholds(body.thresholds);
    return this.sensors.create(withoutUndefined(body));
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
  update(@Param('id') id: string, @Body() body: UpdateSensorDto): Promise<Sensor> {
    checkThresholds(body.thresholds);
    return this.sensors.update(id, withoutUndefined(body));
  }

  @Delete(':id')
  remove(@Param('id') id: string): Promise<Sensor> {
    return this.sensors.remove(id);
  }
}

function checkThresholds(thresholds: Thresholds | undefined): void {
  if (thresholds?.min !== undefined && thresholds.max !== undefined && thresholds.min > thresholds.max) {
    throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: ['thresholds.min must not be greater than thresholds.max'] });
  }
}
