import { Controller, Delete, HttpCode, HttpStatus, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { ErrorCode, type Sensor } from '#contracts';
import { HttpJwtGuard, Roles } from '#auth';
import { ApiError } from '#http';
import type { CatalogService } from '../catalog/catalog.service.js';
import { SENSORS } from '../catalog/catalog.tokens.js';
import { DeviceCredentialsService } from './device-credentials.service.js';

/** `/api/v1/sensors/:id/credentials`: the device token of a sensor (role `service` or `admin`). */
@Controller('sensors/:id/credentials')
@UseGuards(HttpJwtGuard)
@Roles('service', 'admin')
export class DeviceCredentialsController {
  constructor(
    private readonly credentials: DeviceCredentialsService,
    @Inject(SENSORS) private readonly sensors: CatalogService<Sensor>,
  ) {}

  /** `{ sensorId, token }`, shown this once: the device logs in with username = sensor id, password = token. */
  @Post()
  issue(@Param('id') id: string): Promise<{ sensorId: string; token: string }> {
    return this.credentials.issue(id);
  }

  /** Revokes the token and closes the device's connections. 404 for an unknown sensor or one without credentials. */
  @Delete()
  @HttpCode(200)
  async revoke(@Param('id') id: string): Promise<{ sensorId: string; revoked: true }> {
    await this.sensors.get(id);
    if (!(await this.credentials.revoke(id))) throw new ApiError(ErrorCode.NOT_FOUND, HttpStatus.NOT_FOUND, ['the sensor has no device credentials']);
    return { sensorId: id, revoked: true };
  }
}
