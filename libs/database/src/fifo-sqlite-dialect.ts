import { SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';

/**
 * One lock holder at a time, woken in arrival order. Kysely's own SQLite mutex wakes every waiter
 * on each release (they all await one promise and race again), so n queued queries cost n² wake-ups:
 * a flood of readings from new sensors starved the event loop for seconds.
 */
export class FifoMutex {
  private readonly waiters: (() => void)[] = [];
  private locked = false;

  async lock(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  unlock(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.locked = false;
  }

  get waiting(): number {
    return this.waiters.length;
  }
}

/** Kysely's SQLite driver with {@link FifoMutex} around its single connection. */
class FifoSqliteDriver extends SqliteDriver {
  private readonly mutex = new FifoMutex();
  private connection: DatabaseConnection | null = null;

  override async init(): Promise<void> {
    await super.init();
    // The parent's only connection, taken once; from here on this class decides who holds it.
    this.connection = await super.acquireConnection();
    await super.releaseConnection();
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock();
    return this.connection!;
  }

  override async releaseConnection(): Promise<void> {
    this.mutex.unlock();
  }
}

/** `SqliteDialect` whose queries queue in order (see {@link FifoMutex}). */
export class FifoSqliteDialect extends SqliteDialect {
  constructor(private readonly config: SqliteDialectConfig) {
    super(config);
  }

  override createDriver(): Driver {
    return new FifoSqliteDriver(this.config);
  }
}
