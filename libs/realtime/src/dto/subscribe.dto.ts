import { Type } from 'class-transformer';
import { IsInt, IsObject, IsOptional, IsString, Max, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';
import { MAX_REPLAY } from '#contracts';

/** A position in a stream, as the client last saw it (CONTRACT section 9). */
export class StreamPositionDto {
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  epoch!: string;

  @IsInt()
  @Min(0)
  offset!: number;
}

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

  /** Resume after this position: an epoch or offset the stream no longer has gives `recovered: false`, not an error. */
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => StreamPositionDto)
  since?: StreamPositionDto;

  /** The topic's last N publications after the ack. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_REPLAY)
  replay?: number;
}

export class UnsubscribeDto {
  @IsString()
  @MaxLength(128)
  topic!: string;
}
