import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { ErrorCode, type ErrorBody } from '#contracts';
import { validationMessages } from './validation-messages.js';

/**
 * class-validator for message payloads; failures become `VALIDATION_FAILED` acks. Clients send
 * plain JSON, so a payload that is already an instance of the DTO was validated by the host
 * app's global ValidationPipe and is not validated twice.
 */
class WsValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => {
        const details = validationMessages(errors);
        const body: ErrorBody = { code: ErrorCode.VALIDATION_FAILED, message: details.join('; ') || 'Payload must be an object', details };
        return new WsException(body);
      },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.metatype && value instanceof metadata.metatype) return value;
    return super.transform(value, metadata);
  }
}

export const wsValidationPipe = new WsValidationPipe();
