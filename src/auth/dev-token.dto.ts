import { IsEmail, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ID_PATTERN, ROLES, type Role } from '#contracts';

export class DevTokenDto {
  @IsString()
  @Matches(ID_PATTERN, { message: 'sub must be 1-64 characters of A-Z a-z 0-9 _ . -' })
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
