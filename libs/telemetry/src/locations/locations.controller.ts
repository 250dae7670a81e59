import { Body, Controller, Delete, Get, Inject, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { withoutUndefined, type Location } from '#contracts';
import { HttpJwtGuard } from '#auth';
import type { CatalogService } from '../catalog/catalog.service.js';
import { LOCATIONS } from '../catalog/catalog.tokens.js';
import { CreateLocationDto, UpdateLocationDto } from './dto/location.dto.js';

/** `/api/v1/locations`: any authenticated user; each write emits `location:*` to `locations` and `general`. */
@Controller('locations')
@UseGuards(HttpJwtGuard)
export class LocationsController {
  constructor(@Inject(LOCATIONS) private readonly locations: CatalogService<Location>) {}

  @Post()
  create(@Body() body: CreateLocationDto): Promise<Location> {
    return this.locations.create(withoutUndefined(body));
  }

  @Get()
  list(): Promise<Location[]> {
    return this.locations.list();
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<Location> {
    return this.locations.get(id);
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() body: UpdateLocationDto): Promise<Location> {
    return this.locations.update(id, withoutUndefined(body));
  }

  @Delete(':id')
  remove(@Param('id') id: string): Promise<Location> {
    return this.locations.remove(id);
  }
}
