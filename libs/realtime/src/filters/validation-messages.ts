import type { ValidationError } from '@nestjs/common';

/** Flattens class-validator errors into readable lines, nested fields as `parent.child must ...`. */
export function validationMessages(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => [
    ...Object.values(error.constraints ?? {}).map((text) => (parent ? `${parent}.${text}` : text)),
    ...validationMessages(error.children ?? [], parent ? `${parent}.${error.property}` : error.property),
  ]);
}
