import { Matches, type ValidationOptions } from 'class-validator';
import { ID_PATTERN } from '#contracts';

/** An id that is also one MQTT topic level (sensor ids, metrics, user ids): `[A-Za-z0-9_.-]{1,64}`. */
export function IsId(options: ValidationOptions = {}): PropertyDecorator {
  const what = options.each ? 'each value in $property' : '$property';
  return Matches(ID_PATTERN, { message: `${what} must be 1-64 characters of A-Z a-z 0-9 _ . -`, ...options });
}
