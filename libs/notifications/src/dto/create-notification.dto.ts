import { ArrayMaxSize, ArrayMinSize, IsArray, IsNotEmpty, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ID_PATTERN } from '#contracts';

export const MAX_RECIPIENTS = 1000;

export class CreateNotificationDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_RECIPIENTS)
  @IsString({ each: true })
  @Matches(ID_PATTERN, { each: true, message: 'each value in userIds must be 1-64 characters of A-Z a-z 0-9 _ . -' })
  userIds!: string[];

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  title!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  message!: string;

  @IsOptional()
  @IsObject()
  data?: Record<string, unknown>;
}
