import { Logger } from '@nestjs/common';
import type { ReadingsRepository } from './readings.repository.js';

const DAY_MS = 86_400_000;
/** Often enough that the table never holds much more than the retention; cheap with the ts index. */
const EVERY_MS = 3_600_000;
/** The first pass waits a little so start-up is not slowed by a large delete. */
const FIRST_PASS_MS = 30_000;

/** Deletes readings older than `days` every hour (every instance may do it: the delete is idempotent). */
export class ReadingRetention {
  private readonly logger = new Logger(ReadingRetention.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repository: ReadingsRepository,
    private readonly days: number,
  ) {}

  start(): void {
    this.timer = setTimeout(() => {
      void this.run();
      this.timer = setInterval(() => void this.run(), EVERY_MS);
      this.timer.unref();
    }, FIRST_PASS_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One pass; the number of readings deleted. */
  async run(now = Date.now()): Promise<number> {
    try {
      const deleted = await this.repository.deleteBefore(now - this.days * DAY_MS);
      if (deleted > 0) this.logger.log(`Deleted ${deleted} readings older than ${this.days} days`);
      return deleted;
    } catch (error) {
      this.logger.warn(`Retention pass failed: ${(error as Error).message}`);
      return 0;
    }
  }
}
