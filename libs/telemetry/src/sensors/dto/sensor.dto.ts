import { OmitType, PartialType } from '@nestjs/mapped-types';
import { Type } from 'class-transformer';
import { IsNotEmpty, IsNumber, IsObject, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import { IsId } from '#realtime';

export class ThresholdsDto {
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  min?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  max?: number;
}

export class CreateSensorDto {
  /** Used in MQTT topics, so limited to one topic level's safe characters. Generated when absent. */
  @IsOptional()
  @IsId()
  id?: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  name!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  type!: string;

  @IsOptional()
  @IsString()
  @MaxLength(128)
  model?: string;

  @IsOptional()
  @IsString()
  @MaxLength(16)
  unit?: string;

  @IsOptional()
  @IsId()
  locationId?: string;

  @IsOptional()
  @IsId()
  ownerId?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ThresholdsDto)
  thresholds?: ThresholdsDto;
}

/** PATCH body: any field but the id. */
export class UpdateSensorDto extends PartialType(OmitType(CreateSensorDto, ['id'] as const)) {}
