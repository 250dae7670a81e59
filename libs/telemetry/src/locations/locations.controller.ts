import { Body, Controller, Delete, Get, Inject, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { withoutUndefined, type Page, type Location } from '#contracts';
import { HttpJwtGuard } from '#auth';
import type { CatalogService } from '../catalog/catalog.service.js';
import { LOCATIONS } from '../catalog/catalog.tokens.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../catalog/dto/page.query.js';
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

  /** `{ items, nextCursor }` in id order; `?limit=` (1-1000, default 100) and `?cursor=<nextCursor>`. */
  @Get()
  list(@Query() query: PageQueryDto): Promise<Page<Location>> {
    return this.locations.list({ limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor });
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
