import type { Kysely } from 'kysely';
import type { Database } from '#database';
import type { DeviceCredentialStore } from './device-credential.store.js';

/** Device credentials in the gateway's database: one row per sensor, the token's hash only. */
export class KyselyDeviceCredentialStore implements DeviceCredentialStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(sensorId: string): Promise<string | null> {
    const row = await this.db.selectFrom('device_credentials').select('hash').where('sensor_id', '=', sensorId).executeTakeFirst();
    return row?.hash ?? null;
  }

  async set(sensorId: string, hash: string): Promise<void> {
    await this.db
      .insertInto('device_credentials')
      .values({ sensor_id: sensorId, hash, created_at: Date.now() })
      .onConflict((oc) => oc.column('sensor_id').doUpdateSet((eb) => ({ hash: eb.ref('excluded.hash'), created_at: eb.ref('excluded.created_at') })))
      .execute();
  }

  async delete(sensorId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('device_credentials').where('sensor_id', '=', sensorId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
