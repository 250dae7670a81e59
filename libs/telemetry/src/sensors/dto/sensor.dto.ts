import { OmitType, PartialType } from '@nestjs/mapped-types';
import { Type } from 'class-transformer';
import { IsNotEmpty, IsNumber, IsObject, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { ID_PATTERN } from '#contracts';

export const ID_MESSAGE = '$property must be 1-64 characters of A-Z a-z 0-9 _ . -';

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
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
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
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  locationId?: string;

  @IsOptional()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  ownerId?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ThresholdsDto)
  thresholds?: ThresholdsDto;
}

/** PATCH body: any field but the id. */
export class UpdateSensorDto extends PartialType(OmitType(CreateSensorDto, ['id'] as const)) {}
