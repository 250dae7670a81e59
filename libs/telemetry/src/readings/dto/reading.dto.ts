import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsOptional, IsString, Max, MaxLength, Min, ValidateBy, ValidateIf } from 'class-validator';
import { MAX_READING_MAGNITUDE } from '#contracts';
import { IsId } from '#realtime';
import { AGGREGATES, type Aggregate } from '../readings.repository.js';

export const MIN_BUCKET_MS = 1_000;
export const MAX_BUCKET_MS = 86_400_000;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const TIME_MESSAGE = (name: string) => `${name} must be ms since the epoch or an ISO 8601 date`;
const BUCKET_MESSAGE = 'bucket must be a duration from 1s to 1d such as 30s, 5m, 1h or 1d';

/** `1700000000000` or `2026-01-01T00:00:00Z` -> ms; anything else is left for the validator to refuse. */
export function parseTime(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (/^\d{1,15}$/.test(value)) return Number(value);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  return value;
}

/** One message whatever is wrong with the bucket (not one per failed rule). */
function IsBucketMs(): PropertyDecorator {
  return ValidateBy({
    name: 'isBucketMs',
    validator: {
      validate: (value) => Number.isInteger(value) && (value as number) >= MIN_BUCKET_MS && (value as number) <= MAX_BUCKET_MS,
      defaultMessage: () => BUCKET_MESSAGE,
    },
  });
}

/** `30s`, `5m`, `1h`, `1d` -> ms; anything else is left for the validator to refuse. */
export function parseBucket(value: unknown): unknown {
  const match = typeof value === 'string' ? /^(\d{1,5})([smhd])$/.exec(value) : null;
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : value;
}

export class CreateReadingDto {
  @IsId()
  sensorId!: string;

  @IsId()
  metric!: string;

  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-MAX_READING_MAGNITUDE, { message: 'value must be at least -1e300' })
  @Max(MAX_READING_MAGNITUDE, { message: 'value must be at most 1e300' })
  value!: number;

  @IsOptional()
  @IsString()
  @MaxLength(16)
  unit?: string;

  /** ms since the epoch, or ISO 8601; defaults to now. */
  @IsOptional()
  @ValidateIf((_, ts) => typeof ts !== 'string')
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'ts must be ms since the epoch or an ISO 8601 string' })
  ts?: number | string;
}

/** `GET /api/v1/readings`: raw readings, or with `bucket` one aggregate per bucket. */
export class ListReadingsQuery {
  @IsId()
  sensorId!: string;

  /** Optional for raw readings (all the sensor's metrics); required with `bucket`. */
  @IsOptional()
  @IsId()
  metric?: string;

  /** Inclusive; ms epoch or ISO 8601. */
  @IsOptional()
  @Transform(({ value }) => parseTime(value))
  @IsInt({ message: TIME_MESSAGE('from') })
  from?: number;

  /** Inclusive; ms epoch or ISO 8601. */
  @IsOptional()
  @Transform(({ value }) => parseTime(value))
  @IsInt({ message: TIME_MESSAGE('to') })
  to?: number;

  /** Bucket width, `1s` to `1d`; parsed to ms. */
  @IsOptional()
  @Transform(({ value }) => parseBucket(value))
  @IsBucketMs()
  bucket?: number;

  @IsOptional()
  @IsIn(AGGREGATES, { message: `agg must be one of ${AGGREGATES.join(', ')}` })
  agg?: Aggregate;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
