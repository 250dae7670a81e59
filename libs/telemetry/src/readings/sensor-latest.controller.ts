import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import type { Sensor } from '#contracts';
import { HttpJwtGuard } from '#realtime';
import type { CatalogService } from '../catalog/catalog.service.js';
import { SENSORS } from '../catalog/catalog.tokens.js';
import { ReadingWriter } from './reading-writer.js';
import { ReadingsRepository, type LatestReadings } from './readings.repository.js';

/** `GET /api/v1/sensors/:id/latest`: `{ [metric]: { value, unit?, ts } }`; 404 for an unknown sensor. */
@Controller('sensors')
@UseGuards(HttpJwtGuard)
export class SensorLatestController {
  constructor(
    @Inject(SENSORS) private readonly sensors: CatalogService<Sensor>,
    private readonly readings: ReadingsRepository,
    private readonly writer: ReadingWriter,
  ) {}

  @Get(':id/latest')
  async latest(@Param('id') id: string): Promise<LatestReadings> {
    await this.sensors.get(id);
    await this.writer.flushed();
    return this.readings.latest(id);
  }
}
