import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { HealthService } from './health.service.js';

@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** No auth: for load balancers and orchestrators. */
  @Get()
  async check(@Res({ passthrough: true }) response: Response): Promise<Awaited<ReturnType<HealthService['report']>>> {
    const report = await this.health.report();
    response.status(report.status === 'ok' ? 200 : 503);
    return report;
  }
}
