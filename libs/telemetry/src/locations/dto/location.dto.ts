import { OmitType, PartialType } from '@nestjs/mapped-types';
import { IsLatitude, IsLongitude, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsId } from '#realtime';

export class CreateLocationDto {
  @IsOptional()
  @IsId()
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
