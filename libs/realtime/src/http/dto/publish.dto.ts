import { IsDefined, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

export class PublishDto {
  @IsString()
  @MaxLength(128)
  topic!: string;

  @IsString()
  @MaxLength(64)
  event!: string;

  /** Checked against the event's shape in `#contracts`. */
  @IsDefined()
  data!: unknown;
}

export class TestEventDto {
  @IsOptional()
  @IsString()
  @MaxLength(128)
  topic?: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  message!: string;
}
