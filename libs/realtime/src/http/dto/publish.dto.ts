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

/** `POST /ws/test-event` body; `message` may come from the query instead ({@link TestEventQuery}). */
export class TestEventDto {
  @IsOptional()
  @IsString()
  @MaxLength(128)
  topic?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  message?: string;
}

/** The sensor module's query form: `POST /ws/test-event?channel=&message=`. */
export class TestEventQuery {
  @IsOptional()
  @IsString()
  @MaxLength(128)
  channel?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  message?: string;
}
