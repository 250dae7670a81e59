/**
 * Where device credentials live: one hashed token per sensor (never the token itself). The embedded
 * broker reads it on every device CONNECT; the credentials endpoints write it. Bound to the
 * database-backed implementation by the storage layer.
 */
export interface DeviceCredentialStore {
  /** The stored hash for `sensorId`, or null when the sensor has no credentials. */
  get(sensorId: string): Promise<string | null>;
  /** Replaces any earlier credentials of `sensorId`. */
  set(sensorId: string, hash: string): Promise<void>;
  /** True when there was something to revoke. */
  delete(sensorId: string): Promise<boolean>;
}

export const DEVICE_CREDENTIAL_STORE = Symbol('DEVICE_CREDENTIAL_STORE');
