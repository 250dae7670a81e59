import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { BACKFILL_READINGS_1M, type Database } from '#database';
import { ReadingsRepository } from '#telemetry';
import { Inspector } from './inspector.js';
import { openSockets, percentile, publisher, settledMemory, socketIoReceivers, step, token, type Run, type StepResult } from './scenarios.js';
import { hasTaskset } from './targets.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One statement on its own connection (the load generator's, not the target's pool). */
export async function pgQuery<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

export async function countReadings(url: string): Promise<number> {
  const [row] = await pgQuery<{ n: string }>(url, 'select count(*) as n from readings');
  return Number(row!.n);
}

/** The gateway's writer counters (`/api/v1/metrics`). */
export async function writerCounters(run: Run): Promise<{ written: number; depth: number; dropped: number }> {
  const text = await (await fetch(`${run.target.url}/api/v1/metrics`)).text();
  let written = 0;
  let depth = 0;
  let dropped = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('readings_written_total ')) written = Number(line.split(' ')[1]);
    else if (line.startsWith('readings_write_queue_depth ')) depth = Number(line.split(' ')[1]);
    else if (line.startsWith('readings_dropped_total{')) dropped += Number(line.split(' ').pop());
  }
  return { written, depth, dropped };
}

export interface StorageStep extends StepResult {
  /** Readings of the step written to the database, per second of the step (its rate when all were written). */
  writtenPerSecond: number;
  /** Readings the step published that the writer wrote (1 = all of them). */
  writtenRatio: number;
}

export interface StorageFanoutResult {
  steps: StorageStep[];
  /** Highest rate delivered to every socket without loss, within the p99 limit, and (when `mustWrite`) written in full. */
  knee: number;
  atKnee: StorageStep | null;
  /** Readings accepted and rows found in the database at the end (they must match when everything was written). */
  published: number;
  rows: number;
}

/**
 * `storage-ingest`: readings to one sensor at climbing rates, fanned out to `subscribers` sockets of
 * `readings` (with `batchMs`: what carries hundreds of readings/s to each of 1000 sockets), while the
 * gateway's writer stores them in the run's PostgreSQL database. Each step is timed to its deliveries
 * (as the batching scenario) and to the writer's queue being empty again.
 */
export async function storageFanout(
  run: Run,
  databaseUrl: string,
  subscribers: number,
  rates: number[],
  seconds: number,
  { batchMs = 50, p99LimitMs = 150, mustWrite = true } = {},
): Promise<StorageFanoutResult> {
  const receivers = await socketIoReceivers(run, subscribers, batchMs);
  const client = await publisher(run);
  const steps: StorageStep[] = [];
  let published = 0;
  const withinLimits = (s: StorageStep) => s.lossRatio === 0 && s.p99 <= p99LimitMs && (!mustWrite || s.writtenRatio >= 1);
  const measured = async (rate: number, stepSeconds: number): Promise<StorageStep> => {
    const before = await writerCounters(run);
    const result = await step(run, client, receivers, subscribers, rate, stepSeconds, 'store');
    const sent = Math.round(rate * stepSeconds);
    published += sent;
    // The writer has what it will get once the deliveries are in: wait for its queue (a flush or two).
    let after = await writerCounters(run);
    for (const deadline = Date.now() + 5_000; after.depth > 0 && Date.now() < deadline; after = await writerCounters(run)) await sleep(50);
    const written = after.written - before.written;
    return { ...result, writtenPerSecond: written / stepSeconds, writtenRatio: written / sent };
  };
  try {
    await measured(rates[0]!, Math.min(1, seconds)); // warm-up, not counted (see `fanout`)
    for (const rate of rates) {
      const result = await measured(rate, seconds);
      steps.push(result);
      if (!withinLimits(result)) break;
    }
  } finally {
    receivers.close();
    await client.endAsync();
  }
  const knee = Math.max(0, ...steps.filter(withinLimits).map((s) => s.rate));
  return { steps, knee, atKnee: steps.find((s) => s.rate === knee) ?? null, published, rows: await countReadings(databaseUrl) };
}

/** Accepted MQTT readings so far (`/api/v1/metrics`). */
async function acceptedReadings(run: Run): Promise<number> {
  const text = await (await fetch(`${run.target.url}/api/v1/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('mqtt_messages_accepted_total '));
  return Number(line?.split(' ')[1] ?? 0);
}

/**
 * `storage-sustained`: readings spread evenly over `sensors` sensors (registered on their first
 * reading before the climb) at climbing rates, while the writer stores them. Each sensor is watched
 * by its own socket (`sensor:<id>`, a dashboard per device), so every reading is one delivery and
 * the load is the readings pipeline and the writer, not the load generator. A step is timed to its
 * deliveries and to the writer's queue being empty again; the climb ends at the first step that
 * loses a delivery or (with `mustWrite`) leaves a reading unwritten.
 */
export async function storageSustained(
  run: Run,
  databaseUrl: string,
  sensors: number,
  rates: number[],
  seconds: number,
  { mustWrite = true } = {},
): Promise<StorageFanoutResult> {
  const { sockets } = await openSockets(run, sensors);
  await Promise.all(sockets.map((socket, i) => socket.emitWithAck('subscribe', { topic: `sensor:s${i}` })));
  let received = 0;
  const latencies: number[] = [];
  for (const socket of sockets) {
    socket.onEvent = (event, payload) => {
      if (event !== 'reading:new') return;
      received += 1;
      latencies.push(Date.now() - (payload as { ts: number }).ts);
    };
  }
  const client = await publisher(run);
  const topic = (n: number) => `${run.prefix}sensors/s${n % sensors}/v`;
  const steps: StorageStep[] = [];
  let published = 0;
  const withinLimits = (s: StorageStep) => s.lossRatio === 0 && (!mustWrite || s.writtenRatio >= 1);
  try {
    // Registration: one reading per sensor, paced, until the gateway has accepted, delivered and written them all.
    const acceptedBefore = await acceptedReadings(run);
    for (let n = 0; n < sensors; n++) {
      client.publish(topic(n), JSON.stringify({ value: 0, ts: Date.now() }), { qos: 0 });
      if (n % 100 === 99) await sleep(100);
    }
    published += sensors;
    for (const deadline = Date.now() + 30_000; (await acceptedReadings(run)) < acceptedBefore + sensors && Date.now() < deadline;) await sleep(100);
    for (const deadline = Date.now() + 5_000; received < sensors && Date.now() < deadline;) await sleep(50);
    for (const deadline = Date.now() + 15_000; (await writerCounters(run)).depth > 0 && Date.now() < deadline;) await sleep(100);
    for (const rate of rates) {
      const before = await writerCounters(run);
      const startReceived = received;
      latencies.length = 0;
      const total = Math.round(rate * seconds);
      const started = Date.now();
      let sent = 0;
      while (sent < total) {
        const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
        for (; sent < due; sent++) client.publish(topic(sent), JSON.stringify({ value: sent, ts: Date.now() }), { qos: 0 });
        await sleep(5);
      }
      published += total;
      for (const deadline = Date.now() + 5_000; received - startReceived < total && Date.now() < deadline;) await sleep(50);
      const got = received - startReceived;
      let after = await writerCounters(run);
      for (const deadline = Date.now() + 15_000; after.depth > 0 && Date.now() < deadline; after = await writerCounters(run)) await sleep(100);
      const written = after.written - before.written;
      const sorted = [...latencies].sort((a, b) => a - b);
      const result: StorageStep = {
        rate,
        expected: total,
        received: got,
        lossRatio: 1 - got / total,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        deliveriesPerSecond: got / seconds,
        writtenPerSecond: written / seconds,
        writtenRatio: written / total,
      };
      steps.push(result);
      if (!withinLimits(result)) break;
    }
  } finally {
    sockets.forEach((socket) => socket.close());
    await client.endAsync();
  }
  const knee = Math.max(0, ...steps.filter(withinLimits).map((s) => s.rate));
  return { steps, knee, atKnee: steps.find((s) => s.rate === knee) ?? null, published, rows: await countReadings(databaseUrl) };
}

// Runs from dist/bench/lib (npm run bench) or bench/lib (the smoke test): the writer script always runs built.
const repoRoot = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/dist\/$/, '/');
const WRITER_SCRIPT = `${repoRoot}dist/bench/storage-writer.js`;

/**
 * The product's readings writer alone (`bench/storage-writer.ts`), fed as fast as it accepts for
 * `seconds` into `databaseUrl`, in a process pinned to the targets' core; then the rows counted.
 */
export async function writerAlone(
  databaseUrl: string,
  seconds: number,
): Promise<{ readingsPerSecond: number; accepted: number; dropped: number; rows: number }> {
  const node = [process.execPath, WRITER_SCRIPT, databaseUrl, String(seconds)];
  const [command, args] = hasTaskset ? ['taskset', ['-c', '0', ...node]] : [node[0]!, node.slice(1)];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn' } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  // Bounded: the run, its final flush, and a margin.
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  const line = output.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`storage-writer exited ${code}:\n${output}`);
  const { accepted, dropped, seconds: elapsed } = JSON.parse(line) as { accepted: number; dropped: number; seconds: number };
  return { readingsPerSecond: accepted / elapsed, accepted, dropped, rows: await countReadings(databaseUrl) };
}

export interface SeriesTiming {
  /** Readings in the queried series over the day. */
  rows: number;
  httpMs: { median: number; max: number };
  /** The repository's query (the rollup), without HTTP. */
  directMs: { median: number; max: number };
  /** The same buckets as one statement over `readings` (what the repository ran before the rollup), for comparison. */
  rawMs: { median: number; max: number };
  /** EXPLAIN (ANALYZE, BUFFERS) of the repository's query, for the notes. */
  plan: string;
}

export interface QueryResult {
  /** Rows loaded, and how long the bulk load (with the rollup's backfill and VACUUM ANALYZE) took. */
  rows: number;
  loadSeconds: number;
  /** Of which the rollup's backfill (migration 0003's statement over the loaded rows). */
  backfillSeconds: number;
  /** By series: `second` holds a reading a second over the day, `dense` ten a second. */
  series: Record<'second' | 'dense', SeriesTiming>;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * `storage-query`: `rows` readings loaded straight into PostgreSQL (INSERT ... SELECT generate_series,
 * on three connections): a series with a reading every second of a day, one with a reading every
 * 100 ms, and the rest spread over 1000 other sensors in the same day, and the rollup backfilled from
 * them. Then each series' hourly averages over the day, `samples` times through
 * `GET /api/v1/readings?bucket=1h&agg=avg`, through the repository without HTTP, and as one statement
 * over `readings`; the three answers are checked against each other and against 24 buckets.
 */
export async function storageQuery(run: Run, databaseUrl: string, rows: number, samples: number): Promise<QueryResult> {
  const dayStart = Math.floor((Date.now() - 2 * DAY_MS) / DAY_MS) * DAY_MS;
  // With --quick (few rows) the two series shrink with the total, still spread over the whole day.
  const sizes = { second: Math.min(DAY_MS / 1000, Math.floor(rows / 20)), dense: Math.min(DAY_MS / 100, Math.floor(rows / 4)) };
  const others = rows - sizes.second - sizes.dense;
  const loaded = Date.now();
  const step = Math.floor(DAY_MS / Math.ceil(others / 1000));
  await Promise.all([
    pgQuery(
      databaseUrl,
      `insert into readings (sensor_id, metric, ts, value)
        select 'second', 'v', $1::bigint + i * ${Math.floor(DAY_MS / sizes.second)}, 20 + 5 * sin(i / 600.0) + random() from generate_series(0, $2::int - 1) i
        union all
        select 'dense', 'v', $1::bigint + i * ${Math.floor(DAY_MS / sizes.dense)}, 20 + 5 * sin(i / 6000.0) + random() from generate_series(0, $3::int - 1) i`,
      [dayStart, sizes.second, sizes.dense],
    ),
    ...[
      [0, Math.floor(others / 2)],
      [Math.floor(others / 2), others],
    ].map(([from, to]) =>
      pgQuery(
        databaseUrl,
        `insert into readings (sensor_id, metric, ts, value) select 'other-' || (i % 1000), 'v', $1::bigint + (i / 1000) * ${step}, random() * 100 from generate_series($2::int, $3::int - 1) i`,
        [dayStart, from, to],
      ),
    ),
  ]);
  // The writer keeps `readings_1m` in step with its batches; rows loaded behind its back get the
  // migration's backfill, so the queries below read what they read in production. Rebuilt from every
  // reading (nothing writes meanwhile): rows the writer stored before (the smoke test's) are in it already.
  const backfilled = Date.now();
  await pgQuery(databaseUrl, 'truncate readings_1m');
  await pgQuery(databaseUrl, BACKFILL_READINGS_1M);
  const backfillSeconds = (Date.now() - backfilled) / 1000;
  await pgQuery(databaseUrl, 'vacuum analyze readings');
  await pgQuery(databaseUrl, 'vacuum analyze readings_1m');
  const loadSeconds = (Date.now() - loaded) / 1000;
  const total = await countReadings(databaseUrl);

  const from = dayStart;
  const to = dayStart + DAY_MS - 1;
  const reader = token('bench-reader');
  // The repository itself on one connection, its SQL kept for EXPLAIN; and, for comparison, the
  // statement over `readings` it ran before the rollup.
  let compiled: CompiledQuery | undefined;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }),
    log: (event) => void (compiled = event.query),
  });
  const repository = new ReadingsRepository(db, 'postgres');
  const rawStatement = `select (ts / ${HOUR_MS}) * ${HOUR_MS} as ts, avg(value) as value from readings where sensor_id = $1 and metric = $2 and ts >= $3 and ts <= $4 group by (ts / ${HOUR_MS}) * ${HOUR_MS} order by (ts / ${HOUR_MS}) * ${HOUR_MS}`;
  const direct = new pg.Client({ connectionString: databaseUrl });
  await direct.connect();
  const summary = (xs: number[]) => ({ median: [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!, max: Math.max(...xs) });
  const timeSeries = async (sensorId: string, seriesRows: number): Promise<SeriesTiming> => {
    const http = async (): Promise<{ ms: number; items: { ts: number; value: number }[] }> => {
      const started = performance.now();
      const response = await fetch(`${run.target.url}/api/v1/readings?sensorId=${sensorId}&metric=v&from=${from}&to=${to}&bucket=1h&agg=avg`, {
        headers: { authorization: `Bearer ${reader}` },
      });
      if (!response.ok) throw new Error(`GET /api/v1/readings answered ${response.status}: ${await response.text()}`);
      const body = (await response.json()) as { items: { ts: number; value: number }[] };
      return { ms: performance.now() - started, items: body.items };
    };
    const viaRepository = async () => {
      const started = performance.now();
      const items = await repository.buckets({ sensorId, metric: 'v', from, to, bucketMs: HOUR_MS, agg: 'avg' });
      return { ms: performance.now() - started, items };
    };
    const viaRaw = async () => {
      const started = performance.now();
      const result = await direct.query(rawStatement, [sensorId, 'v', from, to]);
      return { ms: performance.now() - started, items: result.rows.map((row) => ({ ts: Number(row.ts), value: Number(row.value) })) };
    };
    // Warm every path once (the first query of a connection plans and reads pages in); the three
    // answers must agree: the rollup's buckets are the readings' buckets.
    const answers = { HTTP: (await http()).items, repository: (await viaRepository()).items, readings: (await viaRaw()).items };
    for (const [path, items] of Object.entries(answers)) {
      if (items.length !== 24) throw new Error(`${sensorId}: expected 24 hourly buckets, got ${items.length} (${path})`);
      items.forEach((item, i) => {
        const other = answers.readings[i]!;
        if (item.ts !== other.ts || Math.abs(item.value - other.value) > 1e-9)
          throw new Error(`${sensorId}: bucket ${i} differs: ${JSON.stringify(item)} (${path}) against ${JSON.stringify(other)} (readings)`);
      });
    }
    const httpMs: number[] = [];
    const directMs: number[] = [];
    const rawMs: number[] = [];
    for (let i = 0; i < samples; i++) {
      httpMs.push((await http()).ms);
      directMs.push((await viaRepository()).ms);
      rawMs.push((await viaRaw()).ms);
    }
    await viaRepository();
    const plan = (await direct.query(`explain (analyze, buffers) ${compiled!.sql}`, [...compiled!.parameters])).rows.map((row) => row['QUERY PLAN']).join('\n');
    return { rows: seriesRows, httpMs: summary(httpMs), directMs: summary(directMs), rawMs: summary(rawMs), plan };
  };
  try {
    return {
      rows: total,
      loadSeconds,
      backfillSeconds,
      series: { second: await timeSeries('second', sizes.second), dense: await timeSeries('dense', sizes.dense) },
    };
  } finally {
    await direct.end();
    await db.destroy();
  }
}

/** `storage-rss`: the target's RSS and live heap at start, after a forced GC (its inspector), once it has settled. */
export async function startMemory(run: Run): Promise<{ rssBytes: number; heapBytes: number }> {
  if (run.target.inspectPort === undefined) throw new Error('startMemory needs a target started with { inspect: true }');
  const inspector = await Inspector.attach(run.target.inspectPort);
  try {
    await sleep(1000);
    const { rss, heap } = await settledMemory(run, inspector);
    return { rssBytes: rss, heapBytes: heap };
  } finally {
    inspector.close();
  }
}
