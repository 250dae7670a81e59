/**
 * `node dist/bench/storage-writer.js <postgres-url> <seconds> [sensors]`: the gateway's readings writer
 * alone (the product's `ReadingWriter` and `ReadingsRepository`, with the gateway's default batch size,
 * flush interval and queue bound) fed as fast as it accepts for `seconds`, then closed (which writes
 * everything accepted). Prints one JSON line: readings accepted, dropped, and seconds until the last was
 * written. `npm run bench -- storage-ingest` spawns it pinned to the targets' core; it measures what
 * the write path can sustain, without the rest of the pipeline or the fan-out sharing its core.
 */
import { DatabaseConnection } from '#database';
import { MetricsService } from '#observability';
import { ReadingsRepository, ReadingWriter } from '#telemetry';
import { resolveTelemetryOptions } from '../libs/telemetry/src/telemetry.options.js';

const [url, secondsArg = '10', sensorsArg = '1000'] = process.argv.slice(2);
if (!url?.startsWith('postgres')) {
  console.error('usage: storage-writer.js <postgres-url> <seconds> [sensors]');
  process.exit(2);
}
const seconds = Number(secondsArg);
const sensors = Number(sensorsArg);

const defaults = resolveTelemetryOptions({});
const database = await DatabaseConnection.open({ url });
const writer = new ReadingWriter(
  new ReadingsRepository(database.db, database.dialect),
  { flushMs: defaults.readingsFlushMs, batchSize: defaults.readingsBatchSize, maxQueue: defaults.readingsMaxQueue },
  new MetricsService(),
  async () => true,
);

let accepted = 0;
let dropped = 0;
const started = Date.now();
const ids = Array.from({ length: sensors }, (_, i) => `w${i}`);
// Offered in slices with a turn of the event loop between, so the writer's flushes run as they would
// in the gateway, and held back while ten batches wait: the rate is what the writer sustains, not
// what a full queue drops (it would count them, as in production).
const backlog = defaults.readingsBatchSize * 10;
while (Date.now() - started < seconds * 1000) {
  if (writer.queueDepth >= backlog) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    continue;
  }
  const now = Date.now();
  for (let i = 0; i < 500; i++) {
    if (writer.append({ sensorId: ids[(accepted + dropped) % sensors]!, metric: 'v', value: i, ts: now })) accepted += 1;
    else dropped += 1;
  }
  await new Promise((resolve) => setImmediate(resolve));
}
await writer.close();
const elapsed = (Date.now() - started) / 1000;
await database.db.destroy();
console.log(JSON.stringify({ accepted, dropped, seconds: elapsed }));
