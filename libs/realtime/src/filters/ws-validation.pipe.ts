import { ValidationPipe } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { ErrorCode, type ErrorBody } from '#contracts';
import { validationMessages } from './validation-messages.js';

/** class-validator for message payloads; failures become `VALIDATION_FAILED` acks. */
export const wsValidationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  exceptionFactory: (errors) => {
    const details = validationMessages(errors);
    const body: ErrorBody = {
      code: ErrorCode.VALIDATION_FAILED,
      message: details.length > 0 ? details.join('; ') : 'Payload must be an object',
      details,
    };
    return new WsException(body);
  },
});
