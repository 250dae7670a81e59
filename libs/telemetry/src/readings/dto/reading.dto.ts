import { Type } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, IsString, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { IsId } from '#realtime';

export class CreateReadingDto {
  @IsId()
  sensorId!: string;

  @IsId()
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
  @IsId()
  sensorId!: string;

  @IsOptional()
  @IsId()
  metric?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
