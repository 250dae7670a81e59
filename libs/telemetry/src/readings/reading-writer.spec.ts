import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReadingPayload } from '#contracts';
import { MetricsService } from '#observability';
import { createLockableDatabase, DATABASE_KINDS, openTestDatabase } from '../../../../test/support/database.js';
import { DatabaseConnection } from '#database';
import { ReadingWriter, type ReadingWriterOptions } from './reading-writer.js';
import { ReadingsRepository } from './readings.repository.js';

const reading = (i: number, sensorId = 'w-1'): ReadingPayload => ({ sensorId, metric: 'm', value: i, ts: 1_700_000_000_000 + i });
const dropped = async (metrics: MetricsService, reason: string) =>
  (await metrics.readingsDropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
/** Slow enough that only a full batch, flushed() or close() writes within a test. */
const SLOW: ReadingWriterOptions = { flushMs: 60_000, batchSize: 100, maxQueue: 1_000 };

describe.each(DATABASE_KINDS)('ReadingWriter on %s', (kind) => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let repository: ReadingsRepository;
  const writers: ReadingWriter[] = [];
  const writer = (options: ReadingWriterOptions, metrics = new MetricsService()) => {
    const created = new ReadingWriter(repository, options, metrics, () =>
      database.connection.ping().then(
        () => true,
        () => false,
      ),
    );
    writers.push(created);
    return created;
  };
  const stored = async (sensorId: string) => (await repository.raw({ sensorId, metric: 'm', limit: 1000 })).length;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    repository = new ReadingsRepository(database.connection.db, database.connection.dialect);
  });
  afterEach(async () => {
    await Promise.all(writers.splice(0).map((w) => w.close()));
  });
  afterAll(() => database.close());

  it('writes on the timer, without anyone asking', async () => {
    const sut = writer({ ...SLOW, flushMs: 20 });
    for (let i = 0; i < 10; i++) sut.append(reading(i, 'timer'));
    for (let attempt = 0; attempt < 100 && (await stored('timer')) < 10; attempt++) await new Promise((r) => setTimeout(r, 20));
    expect(await stored('timer')).toBe(10);
    expect(sut.queueDepth).toBe(0);
  });

  it('writes a full batch at once and everything on flushed(), counting what it wrote', async () => {
    const metrics = new MetricsService();
    const sut = writer(SLOW, metrics);
    for (let i = 0; i < 250; i++) expect(sut.append(reading(i, 'batch'))).toBe(true);
    await sut.flushed();
    expect(await stored('batch')).toBe(250);
    expect(sut.queueDepth).toBe(0);
    expect((await metrics.readingsWritten.get()).values[0]!.value).toBe(250);
    expect((await metrics.readingsWriteSeconds.get()).values.find((v) => v.metricName === 'readings_write_seconds_count')!.value).toBeGreaterThanOrEqual(3);
  });

  it('catches up when behind: full batches waiting go several to a write, every reading written once', async () => {
    const metrics = new MetricsService();
    const sut = writer(SLOW, metrics);
    // The first batch starts writing at reading 101; the next nine wait for it.
    for (let i = 0; i < 1_000; i++) sut.append(reading(i, 'behind'));
    await sut.flushed();
    expect(await stored('behind')).toBe(1_000);
    expect((await metrics.readingsWritten.get()).values[0]!.value).toBe(1_000);
    // 100, then up to 5 batches at a time: 4 writes where one per batch would be 10.
    const writes = (await metrics.readingsWriteSeconds.get()).values.find((v) => v.metricName === 'readings_write_seconds_count')!.value;
    expect(writes).toBeLessThanOrEqual(4);
  });

  it('is bounded: beyond maxQueue readings are refused and counted, the queue is not', async () => {
    const metrics = new MetricsService();
    // One batch as large as the queue, so nothing is written before the bound is hit.
    const sut = writer({ flushMs: 60_000, batchSize: 2_000, maxQueue: 1_000 }, metrics);
    let accepted = 0;
    for (let i = 0; i < 1_500; i++) if (sut.append(reading(i, 'full'))) accepted += 1;
    expect(accepted).toBe(1_000);
    expect(sut.queueDepth).toBe(1_000);
    expect(await dropped(metrics, 'queue_full')).toBe(500);
    await sut.close();
    expect(await stored('full')).toBe(1_000);
  });

  it('writes everything accepted on close, then refuses new readings', async () => {
    const metrics = new MetricsService();
    const sut = writer(SLOW, metrics);
    for (let i = 0; i < 42; i++) sut.append(reading(i, 'closing'));
    await sut.close();
    expect(await stored('closing')).toBe(42);
    expect(sut.append(reading(99, 'closing'))).toBe(false);
    expect(await dropped(metrics, 'shutdown')).toBe(1);
  });
});

describe('ReadingWriter when PostgreSQL is away or refuses a batch', () => {
  let database: Awaited<ReturnType<typeof createLockableDatabase>>;
  let connection: DatabaseConnection;
  let repository: ReadingsRepository;

  beforeAll(async () => {
    database = await createLockableDatabase();
    connection = await DatabaseConnection.open(database.options);
    repository = new ReadingsRepository(connection.db, connection.dialect);
  });
  afterAll(async () => {
    await database.letIn();
    await connection.close();
    await database.drop();
  });

  it('keeps the batch while the database is unreachable and writes it when it is back', async () => {
    const metrics = new MetricsService();
    const sut = new ReadingWriter(repository, { flushMs: 50, batchSize: 100, maxQueue: 1_000 }, metrics, () =>
      connection.ping().then(
        () => true,
        () => false,
      ),
    );
    try {
      await database.lockOut();
      for (let i = 0; i < 30; i++) sut.append(reading(i, 'away'));
      for (let attempt = 0; attempt < 100 && (await metrics.readingsWriteErrors.get()).values[0]!.value < 2; attempt++)
        await new Promise((r) => setTimeout(r, 50));
      expect((await metrics.readingsWriteErrors.get()).values[0]!.value).toBeGreaterThanOrEqual(2);
      expect(sut.queueDepth).toBe(30);
      await database.letIn();
      await sut.flushed(10_000);
      expect(sut.queueDepth).toBe(0);
      expect((await repository.raw({ sensorId: 'away', metric: 'm', limit: 100 })).map((r) => r.value).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 30 }, (_, i) => i),
      );
      expect(await dropped(metrics, 'write_failed')).toBe(0);
    } finally {
      await database.letIn();
      await sut.close();
    }
  });

  it('counts only failures while the database answers: a write failing as it comes back, after a long outage, does not drop the batch', async () => {
    const metrics = new MetricsService();
    const errors = async () => (await metrics.readingsWriteErrors.get()).values[0]?.value ?? 0;
    const until = async (count: number) => {
      for (let attempt = 0; attempt < 200 && (await errors()) < count; attempt++) await new Promise((r) => setTimeout(r, 20));
      expect(await errors()).toBeGreaterThanOrEqual(count);
    };
    // The database answers pings from the moment `answering` is set, while writes still fail: the
    // race of a write sent just before it came back, its failure seen just after.
    let answering = false;
    const sut = new ReadingWriter(repository, { flushMs: 20, batchSize: 100, maxQueue: 1_000 }, metrics, () => Promise.resolve(answering));
    try {
      await database.lockOut();
      for (let i = 0; i < 30; i++) sut.append(reading(i, 'long-away'));
      await until(25); // more failures than the writer's 20 attempts
      answering = true;
      await until((await errors()) + 2);
      await database.letIn();
      await sut.flushed(10_000);
      expect(await dropped(metrics, 'write_failed')).toBe(0);
      expect((await repository.raw({ sensorId: 'long-away', metric: 'm', limit: 100 })).length).toBe(30);
    } finally {
      await database.letIn();
      await sut.close();
    }
  });

  it('gives a batch up after 20 failures in a row while the database answers (counted), so one write that keeps failing cannot hold the queue', async () => {
    const metrics = new MetricsService();
    const sut = new ReadingWriter(repository, { flushMs: 20, batchSize: 100, maxQueue: 1_000 }, metrics, () => Promise.resolve(true));
    try {
      await database.lockOut();
      for (let i = 0; i < 5; i++) sut.append(reading(i, 'stuck'));
      for (let attempt = 0; attempt < 200 && (await dropped(metrics, 'write_failed')) === 0; attempt++) await new Promise((r) => setTimeout(r, 20));
      expect(await dropped(metrics, 'write_failed')).toBe(5);
      expect((await metrics.readingsWriteErrors.get()).values[0]!.value).toBe(20);
      expect(sut.queueDepth).toBe(0);
    } finally {
      await database.letIn();
      await sut.close();
    }
  });

  it('drops only the readings the database refuses (counted), halving their batch to find them, and goes on with the next', async () => {
    const metrics = new MetricsService();
    const sut = new ReadingWriter(repository, { flushMs: 60_000, batchSize: 10, maxQueue: 1_000 }, metrics, () =>
      connection.ping().then(
        () => true,
        () => false,
      ),
    );
    // A sensor id longer than its column: PostgreSQL refuses the whole statement it is in.
    for (let i = 0; i < 10; i++) sut.append(reading(i, i === 3 ? 'x'.repeat(100) : 'beside'));
    for (let i = 0; i < 5; i++) sut.append(reading(i, 'after'));
    await sut.close();
    expect(await dropped(metrics, 'write_failed')).toBe(1);
    expect((await repository.raw({ sensorId: 'beside', metric: 'm', limit: 100 })).map((r) => r.value).sort()).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expect((await repository.raw({ sensorId: 'after', metric: 'm', limit: 100 })).length).toBe(5);
  });
});
