import { Logger } from '@nestjs/common';
import type { ReadingPayload } from '#contracts';
import type { MetricsService } from '#observability';
import type { ReadingsRepository } from './readings.repository.js';

export interface ReadingWriterOptions {
  /** Queued readings are written at least this often (ms). */
  flushMs: number;
  /** Rows per batch: a full batch is written at once, without waiting for the timer. */
  batchSize: number;
  /** Readings waiting at most; beyond it new readings are dropped and counted (`reason="queue_full"`). */
  maxQueue: number;
}

/** How often a sustained problem is logged, at most. */
const LOG_EVERY_MS = 10_000;
/** Full batches written together, at most, when the writer is behind. */
const MERGED_BATCHES = 5;
/** Failures in a row, with the database answering pings, after which a batch is given up. */
const MAX_ATTEMPTS = 20;

/**
 * True when the database refused the rows themselves (PostgreSQL SQLSTATE classes 22 data
 * exception and 23 integrity violation; SQLite constraint, mismatch, too big): retrying cannot help.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (/^2[23][0-9A-Z]{3}$/.test(code) || /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code));
}

/**
 * Writes every accepted reading to the database in batches, off the delivery path: `append` only
 * queues (live delivery never waits for the database). A batch goes when it is full or every
 * `flushMs`; one write is in flight at a time, and what arrives meanwhile forms the next batch.
 * When full batches wait, up to 5 of them go in one write.
 *
 * Bounded: at `maxQueue` waiting readings new ones are dropped and counted. A failed batch stays
 * at the head of the queue and is retried on the next tick (the database restarting, a connection
 * cut); a batch whose rows the database refuses is halved until the refused readings are alone,
 * and those are dropped (`reason="write_failed"`), as is a batch that keeps failing while the
 * database answers, so one bad reading cannot block or take down the rest. `close()` (on shutdown, before the database closes) writes
 * everything accepted. A SIGKILL loses what was queued: at most the last `flushMs` of readings plus
 * the batch being written, while the database keeps up.
 */
export class ReadingWriter {
  private readonly logger = new Logger(ReadingWriter.name);
  /** Batches oldest first; the last one takes new readings. */
  private readonly batches: ReadingPayload[][] = [[]];
  private depth = 0;
  /** Readings accepted, and settled (written or given up), since start: `flushed()` waits on these. */
  private accepted = 0;
  private settled = 0;
  private waiters: { target: number; resolve: () => void }[] = [];
  private running: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private lastLog = 0;
  /** Leading batches that are halves of a refused one: written alone, never merged, until the refused readings are found. */
  private halves = 0;
  private attempts = 0;

  constructor(
    private readonly repository: ReadingsRepository,
    private readonly options: ReadingWriterOptions,
    private readonly metrics: MetricsService,
    /** True when the database answers: a batch that keeps failing although it does is given up. */
    private readonly reachable: () => Promise<boolean>,
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushMs);
    this.timer.unref();
    metrics.observeReadingQueue(() => this.depth);
  }

  /** Queues one reading; false when it was dropped (queue full, or shutting down). */
  append(reading: ReadingPayload): boolean {
    if (this.closed || this.depth >= this.options.maxQueue) {
      const reason = this.closed ? 'shutdown' : 'queue_full';
      this.metrics.readingsDropped.inc({ reason });
      this.warnSometimes(`Dropping readings (${reason}): ${this.depth} waiting for the database`);
      return false;
    }
    let last = this.batches[this.batches.length - 1]!;
    if (last.length >= this.options.batchSize) this.batches.push((last = []));
    last.push(reading);
    this.depth += 1;
    this.accepted += 1;
    if (this.batches.length > 1) void this.flush();
    return true;
  }

  get queueDepth(): number {
    return this.depth;
  }

  /** Writes what is queued now; resolves when the queue has been worked through once. */
  flush(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * Resolves once every reading accepted before the call is written (or given up), or after
   * `timeoutMs`: a query made after it sees this instance's readings.
   */
  flushed(timeoutMs = 2_000): Promise<void> {
    const target = this.accepted;
    if (this.settled >= target) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ target, resolve: done });
      void this.flush();
    });
  }

  /** Stops accepting and writes everything queued (retrying a few times if the database hiccups). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (let attempt = 0; attempt < 5 && this.depth > 0; attempt++) {
      await this.flush();
      if (this.depth > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (this.depth > 0) this.logger.error(`${this.depth} readings could not be written before shutdown`);
    else this.logger.log(`All accepted readings written (${this.settled} since start)`);
  }

  private async drain(): Promise<void> {
    while (this.batches[0]!.length > 0) {
      const batch = this.batches.shift()!;
      const half = this.halves > 0;
      if (half) {
        this.halves -= 1;
      } else {
        // Behind (full batches waiting): several go in one write. A write's cost is mostly its round
        // trips, each waiting its turn on a busy event loop, so a writer that falls behind catches up.
        while (this.batches.length > 1 && batch.length + this.batches[0]!.length <= this.options.batchSize * MERGED_BATCHES)
          batch.push(...this.batches.shift()!);
      }
      if (this.batches.length === 0) this.batches.push([]);
      const stopTimer = this.metrics.readingsWriteSeconds.startTimer();
      try {
        await this.repository.insert(batch);
        stopTimer();
        this.metrics.readingsWritten.inc(batch.length);
        this.attempts = 0;
        this.settle(batch.length);
      } catch (error) {
        this.metrics.readingsWriteErrors.inc();
        const refused = isDataError(error);
        if (refused && batch.length > 1) {
          // Some row of it is refused: halves are tried until the refused rows are alone, so one
          // bad reading costs itself, not the thousands written with it.
          this.attempts = 0;
          const middle = Math.ceil(batch.length / 2);
          this.batches.unshift(batch.slice(0, middle), batch.slice(middle));
          this.halves += 2;
          continue;
        }
        // Only failures while the database answers count: an outage of any length keeps the batch,
        // and a write that failed just before the database came back does not find its attempts used up.
        this.attempts = !refused && (await this.reachable()) ? this.attempts + 1 : 0;
        if (refused || this.attempts >= MAX_ATTEMPTS) {
          this.attempts = 0;
          this.metrics.readingsDropped.inc({ reason: 'write_failed' }, batch.length);
          this.logger.error(`Dropped ${batch.length} reading(s) the database refused: ${(error as Error).message}`);
          this.settle(batch.length);
          continue;
        }
        // Keep the batch first in line and retry on the next tick.
        this.batches.unshift(batch);
        if (half) this.halves += 1;
        this.warnSometimes(`Writing readings failed (${(error as Error).message}); ${this.depth} waiting, retrying`);
        return;
      }
    }
  }

  private settle(count: number): void {
    this.depth -= count;
    this.settled += count;
    const ready = this.waiters.filter((w) => w.target <= this.settled);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.target > this.settled);
    for (const waiter of ready) waiter.resolve();
  }

  private warnSometimes(message: string): void {
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.lastLog = now;
    this.logger.warn(message);
  }
}
