import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import type { AlarmSeverity, AlarmStatus } from '#contracts';
import { IsId } from '#realtime';

export const MAX_ALARMS_PAGE = 200;

/** `GET /api/v1/alarms?status&acknowledged&severity&sensorId&cursor&limit` */
export class ListAlarmsQuery {
  @IsOptional()
  @IsIn(['active', 'cleared'])
  status?: AlarmStatus;

  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  acknowledged?: boolean;

  @IsOptional()
  @IsIn(['warning', 'critical'])
  severity?: AlarmSeverity;

  @IsOptional()
  @IsId()
  sensorId?: string;

  /** `nextCursor` of the previous page. */
  @IsOptional()
  @IsUUID()
  cursor?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_ALARMS_PAGE)
  limit?: number;
}
