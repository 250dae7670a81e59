import { IsUUID } from 'class-validator';

/** `alarm:ack` and `alarm:clear`. */
export class AlarmCommandDto {
  @IsUUID()
  alarmId!: string;
}
