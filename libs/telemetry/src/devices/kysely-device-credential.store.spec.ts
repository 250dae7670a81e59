import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DATABASE_KINDS, openTestDatabase } from '../../../../test/support/database.js';
import { KyselyDeviceCredentialStore } from './kysely-device-credential.store.js';

describe.each(DATABASE_KINDS)('KyselyDeviceCredentialStore on %s', (kind) => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(() => database.close());

  it('stores one hash per sensor, replaces it, and revokes it once', async () => {
    const sut = new KyselyDeviceCredentialStore(database.connection.db);
    expect(await sut.get('dev-1')).toBeNull();
    await sut.set('dev-1', 'hash-a');
    await sut.set('dev-2', 'hash-b');
    expect(await sut.get('dev-1')).toBe('hash-a');
    await sut.set('dev-1', 'hash-c');
    expect(await sut.get('dev-1')).toBe('hash-c');
    expect(await sut.delete('dev-1')).toBe(true);
    expect(await sut.delete('dev-1')).toBe(false);
    expect(await sut.get('dev-1')).toBeNull();
    expect(await sut.get('dev-2')).toBe('hash-b');
  });

  it('survives reopening the database', async () => {
    const sut = new KyselyDeviceCredentialStore(database.connection.db);
    await sut.set('dev-3', 'kept');
    // A second connection to the same database sees it (the process restart case).
    const again = await database.reopen();
    try {
      expect(await new KyselyDeviceCredentialStore(again.db).get('dev-3')).toBe('kept');
    } finally {
      await again.close();
    }
  });
});
