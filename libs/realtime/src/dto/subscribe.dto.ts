import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class SubscribeDto {
  @IsString()
  @MaxLength(128)
  topic!: string;

  /** Deliver this topic's `reading:new` as `reading:batch` at most once per this many ms. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  batchMs?: number;
}

export class UnsubscribeDto {
  @IsString()
  @MaxLength(128)
  topic!: string;
}
