import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { DatabaseConnection } from './database-connection.js';
import { FifoMutex } from './fifo-sqlite-dialect.js';

describe('FifoMutex', () => {
  it('hands the lock over in arrival order, one holder at a time', async () => {
    const mutex = new FifoMutex();
    const order: number[] = [];
    let holders = 0;
    await Promise.all(
      Array.from({ length: 50 }, async (_, index) => {
        await mutex.lock();
        holders += 1;
        expect(holders).toBe(1);
        order.push(index);
        await Promise.resolve();
        holders -= 1;
        mutex.unlock();
      }),
    );
    expect(order).toEqual(Array.from({ length: 50 }, (_, index) => index));
    expect(mutex.waiting).toBe(0);
  });
});

describe('the embedded database under many concurrent queries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtg-fifo-'));
  let connection: DatabaseConnection | null = null;
  afterAll(async () => {
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 5,000 queries issued at once, each with its own result, and a transaction in between', async () => {
    connection = await DatabaseConnection.open({ dataDir: dir });
    const db = connection.db;
    const results = Promise.all(Array.from({ length: 5000 }, (_, index) => sql<{ n: number }>`select ${index} as n`.execute(db)));
    const inTransaction = db.transaction().execute(async (trx) => (await sql<{ n: number }>`select 42 as n`.execute(trx)).rows[0]!.n);
    const rows = await results;
    expect(rows.map((result) => result.rows[0]!.n)).toEqual(Array.from({ length: 5000 }, (_, index) => index));
    expect(await inTransaction).toBe(42);
  });
});
