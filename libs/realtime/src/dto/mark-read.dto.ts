import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class MarkReadDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  notificationId!: string;
}

export class MarkAllReadDto {}
