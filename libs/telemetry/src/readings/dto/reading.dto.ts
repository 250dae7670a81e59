import { Type } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { ID_PATTERN } from '#contracts';
import { ID_MESSAGE } from '../../sensors/dto/sensor.dto.js';

export class CreateReadingDto {
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  sensorId!: string;

  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  metric!: string;

  @IsNumber({ allowNaN: false, allowInfinity: false })
  value!: number;

  @IsOptional()
  @IsString()
  @MaxLength(16)
  unit?: string;

  /** ms since the epoch, or ISO 8601; defaults to now. */
  @IsOptional()
  @ValidateIf((_, ts) => typeof ts !== 'string')
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'ts must be ms since the epoch or an ISO 8601 string' })
  ts?: number | string;
}

export class ListReadingsQuery {
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  sensorId!: string;

  @IsOptional()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  metric?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
