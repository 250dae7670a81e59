import type { DeviceCredentialStore } from './device-credential.store.js';

/** One instance, nothing survives a restart: device tokens must then be issued again. */
export class InMemoryDeviceCredentialStore implements DeviceCredentialStore {
  private readonly hashes = new Map<string, string>();

  async get(sensorId: string): Promise<string | null> {
    return this.hashes.get(sensorId) ?? null;
  }

  async set(sensorId: string, hash: string): Promise<void> {
    this.hashes.set(sensorId, hash);
  }

  async delete(sensorId: string): Promise<boolean> {
    return this.hashes.delete(sensorId);
  }
}
