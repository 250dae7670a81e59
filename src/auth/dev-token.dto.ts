import { IsEmail, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ROLES, type Role } from '#contracts';
import { IsId } from '#realtime';

export class DevTokenDto {
  @IsString()
  @IsId()
  sub!: string;

  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @IsOptional()
  @IsEmail()
  email?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  name?: string;

  /** Seconds; at most 30 days. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(30 * 24 * 3600)
  expiresIn?: number;
}
