import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DATABASE_KINDS, openTestDatabase } from '../../../../test/support/database.js';
import { ReadingRetention } from './reading-retention.js';
import { ReadingsRepository } from './readings.repository.js';

const DAY = 86_400_000;

describe.each(DATABASE_KINDS)('ReadingRetention on %s', (kind) => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(() => database.close());

  it('deletes readings older than the retention, in chunks, and keeps the rest', async () => {
    const repository = new ReadingsRepository(database.connection.db, database.connection.dialect);
    const now = Date.UTC(2026, 5, 1);
    // 2500 readings 31-32 days old, 500 within the last 30 days.
    const old = Array.from({ length: 2500 }, (_, i) => ({ sensorId: 'r-1', metric: 'm', value: i, ts: now - 31 * DAY - i * 1000 }));
    const recent = Array.from({ length: 500 }, (_, i) => ({ sensorId: 'r-1', metric: 'm', value: i, ts: now - 29 * DAY + i * 1000 }));
    await repository.insert([...old, ...recent]);
    expect(await repository.deleteBefore(now - 30 * DAY, 1000)).toBe(2500);
    expect(await new ReadingRetention(repository, 30).run(now)).toBe(0);
    const left = await repository.raw({ sensorId: 'r-1', metric: 'm', limit: 1000 });
    expect(left.map((r) => r.ts).sort((a, b) => a - b)).toEqual(recent.map((r) => r.ts));
    expect(await new ReadingRetention(repository, 1).run(now)).toBe(500);
  });
});
