import { IsString, MaxLength } from 'class-validator';

export class SubscribeDto {
  @IsString()
  @MaxLength(128)
  topic!: string;
}

export class UnsubscribeDto {
  @IsString()
  @MaxLength(128)
  topic!: string;
}
