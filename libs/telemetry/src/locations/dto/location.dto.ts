import { OmitType, PartialType } from '@nestjs/mapped-types';
import { IsLatitude, IsLongitude, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ID_PATTERN } from '#contracts';
import { ID_MESSAGE } from '../../sensors/dto/sensor.dto.js';

export class CreateLocationDto {
  @IsOptional()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  id?: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  name!: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string;

  @IsOptional()
  @IsLatitude()
  latitude?: number;

  @IsOptional()
  @IsLongitude()
  longitude?: number;
}

export class UpdateLocationDto extends PartialType(OmitType(CreateLocationDto, ['id'] as const)) {}
