import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Sensor } from '#contracts';
import type { CatalogService } from '../catalog/catalog.service.js';
import { SENSORS } from '../catalog/catalog.tokens.js';
import { MqttIngestService } from '../mqtt/mqtt-ingest.service.js';
import { DEVICE_CREDENTIAL_STORE, type DeviceCredentialStore } from './device-credential.store.js';
import { generateDeviceToken, hashDeviceToken } from './device-token.js';

/** Issues and revokes the token a device logs in with on the embedded broker (username = sensor id). */
@Injectable()
export class DeviceCredentialsService {
  private readonly logger = new Logger(DeviceCredentialsService.name);

  constructor(
    @Inject(DEVICE_CREDENTIAL_STORE) private readonly store: DeviceCredentialStore,
    @Inject(SENSORS) private readonly sensors: CatalogService<Sensor>,
    private readonly mqtt: MqttIngestService,
  ) {}

  /**
   * A new token for an existing sensor (404 otherwise), returned this once and stored only as a hash.
   * It replaces any earlier one, so connections made with that are closed.
   */
  async issue(sensorId: string): Promise<{ sensorId: string; token: string }> {
    await this.sensors.get(sensorId);
    const token = generateDeviceToken();
    await this.store.set(sensorId, hashDeviceToken(token));
    const closed = this.mqtt.disconnectDevice(sensorId);
    this.logger.log(`Issued device credentials for sensor ${sensorId}${closed ? `; closed ${closed} connection(s) made with the previous ones` : ''}`);
    return { sensorId, token };
  }

  /** Revokes and disconnects at once. False when the sensor had no credentials. */
  async revoke(sensorId: string): Promise<boolean> {
    const revoked = await this.store.delete(sensorId);
    const closed = this.mqtt.disconnectDevice(sensorId);
    if (revoked || closed) this.logger.log(`Revoked device credentials of sensor ${sensorId}; closed ${closed} connection(s)`);
    return revoked;
  }
}
