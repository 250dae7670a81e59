import { Body, Controller, Delete, Get, HttpStatus, Inject, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { ErrorCode, withoutUndefined, type Sensor, type Thresholds } from '#contracts';
import { ApiError } from '#http';
import { HttpJwtGuard } from '#auth';
import type { CatalogService } from '../catalog/catalog.service.js';
import { SENSORS } from '../catalog/catalog.tokens.js';
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

  @Get()
  list(): Promise<Sensor[]> {
    return this.sensors.list();
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
    throw new ApiError(ErrorCode.VALIDATION_FAILED, HttpStatus.BAD_REQUEST, ['thresholds.min must not be greater than thresholds.max']);
  }
}
