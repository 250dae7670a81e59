/**
 * `npm run bench -- <scenario|all> [--quick] [--rounds 3] [--render-only] [--cpu-prof]`: runs a scenario against the gateway and
 * the bare socket.io peer (S5: the plain ws peer), alternating them in fresh processes pinned
 * to core 0 (this load generator runs on core 1), and writes bench/RESULTS.md. The `-cluster`
 * scenarios start two instances of each side on Redis (127.0.0.1:6379, or BENCH_REDIS_URL).
 * `--gateway-node-args=<flags>` tries extra Node flags on the gateway's process.
 * `memory-mqtt` and `memory-batching` measure the gateway alone (RSS and live heap growth after a
 * forced GC; `memory-mqtt` with auto-register on also over as many messages again, once the sensors' bound is
 * reached): `--mqtt-messages=<n>` and `--batch-pairs=<n>` change their sizes, `--max-sensors=<n>` the gateway's MAX_SENSORS.
 * `storage-ingest`, `storage-sustained`, `storage-query` and `storage-rss` measure the gateway's storage (a fresh
 * PostgreSQL database per run, BENCH_POSTGRES_URL): readings written while fanning out to 1000 sockets of `readings`,
 * readings/s sustained from 1000 sensors each watched by its own socket, a 24 h aggregate over 10 million readings
 * (`--query-rows=<n>`), and the memory of each database mode at start.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  batchMemory,
  connections,
  fanout,
  ingest,
  mqttMemory,
  perUser,
  reconnectStorm,
  type MemoryResult,
  type Run,
  type StepResult,
} from './lib/scenarios.js';
import { countReadings, startMemory, storageFanout, storageQuery, storageSustained, writerAlone, type StorageStep } from './lib/storage.js';
import { benchDatabase, cleanRunEnv, hasTaskset, runEnv, startTarget, type TargetKind } from './lib/targets.js';

const SCENARIOS = [
  'connections',
  'fanout',
  'ingest',
  'peruser',
  'wsfanout',
  'batching',
  'fanout-cluster',
  'peruser-cluster',
  'memory-mqtt',
  'memory-batching',
  'storage-ingest',
  'storage-sustained',
  'storage-query',
  'storage-rss',
  'reconnect-storm',
] as const;
/** Scenarios run on two instances sharing Redis (adapter, presence) and an MQTT shared subscription. */
const CLUSTERED: ReadonlySet<Scenario> = new Set(['fanout-cluster', 'peruser-cluster']);
/** What outsiders can make the gateway hold: measured on the gateway alone (a bare peer registers nothing and has no batching). */
const GATEWAY_ONLY: ReadonlySet<Scenario> = new Set(['memory-mqtt', 'memory-batching', 'storage-ingest', 'storage-sustained', 'storage-query', 'storage-rss']);
/** Storage: the gateway with and without its database (or in each mode), compared inside each round. */
const STORAGE: ReadonlySet<Scenario> = new Set(['storage-ingest', 'storage-sustained', 'storage-query', 'storage-rss']);
/** The gateway with no reference: the bare peer has no stream history to recover from. */
const NO_REFERENCE: ReadonlySet<Scenario> = new Set([...GATEWAY_ONLY, 'reconnect-storm']);
type Scenario = (typeof SCENARIOS)[number];
type Figures = Record<string, number>;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    'render-only': { type: 'boolean', default: false },
    /** Write a V8 CPU profile of each gateway run to bench/.out/ (the target is stopped with SIGTERM so it can write it). */
    'cpu-prof': { type: 'boolean', default: false },
    /** Extra Node flags for the gateway's process, to try a tuning (e.g. `--max-semi-space-size=32`). */
    'gateway-node-args': { type: 'string', default: '' },
    /** memory-mqtt: readings per run (default 1,000,000; 20,000 with --quick). */
    'mqtt-messages': { type: 'string' },
    /** memory-mqtt: the gateway's MAX_SENSORS (default: the gateway's own, 10,000), to see growth follow the bound. */
    'max-sensors': { type: 'string' },
    /** memory-batching: subscribe/unsubscribe pairs per run (default 100,000; 2,000 with --quick). */
    'batch-pairs': { type: 'string' },
    /** storage-query: readings loaded (default 10,000,000; 200,000 with --quick). */
    'query-rows': { type: 'string' },
  },
});
const chosen = positionals[0] ?? 'all';
if (chosen !== 'all' && !(SCENARIOS as readonly string[]).includes(chosen)) {
  console.error(`Unknown scenario "${chosen}". Scenarios: ${SCENARIOS.join(', ')}, all`);
  process.exit(2);
}
// Pin the load generator to core 1, the targets go to core 0.
if (hasTaskset && !process.env['BENCH_PINNED']) {
  const result = spawnSync('taskset', ['-c', '1', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_PINNED: '1' },
  });
  process.exit(result.status ?? 1);
}

const quick = values.quick;
const rounds = Number(values.rounds);
const mqttUrl = process.env['BENCH_MQTT_URL'] ?? 'mqtt://127.0.0.1:1883';
const redisUrl = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const RESULTS_JSON = fileURLToPath(new URL('../../bench/results.json', import.meta.url));
const RESULTS_MD = fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url));
const PROFILE_DIR = fileURLToPath(new URL('../../bench/.out/', import.meta.url));
// Written from dist/bench; the files live in the source tree's bench/.

const sizes = quick
  ? {
      connections: [100],
      fanout: { subscribers: 50, rates: [20, 50], seconds: 1 },
      ingest: { subscribers: 10, messages: 500 },
      peruser: { users: 50, devices: 2, notifications: 2 },
      batching: { subscribers: 50, rates: [20, 50], seconds: 1 },
      memoryMqtt: 20_000,
      memoryBatching: 2_000,
      storage: { subscribers: 50, rates: [100, 200], seconds: 1, writerSeconds: 2, queryRows: 200_000, querySamples: 5 },
      sustained: { sensors: 50, rates: [500, 1000], seconds: 1 },
      storm: { sockets: 100, missed: 20 },
    }
  : {
      connections: [1000, 5000, 10000],
      fanout: { subscribers: 1000, rates: [25, 50, 100, 200, 400, 800], seconds: 3 },
      ingest: { subscribers: 100, messages: 20000 },
      peruser: { users: 1000, devices: 2, notifications: 5 },
      batching: { subscribers: 1000, rates: [25, 50, 100, 200, 400, 800, 1600, 3200, 6400], seconds: 3 },
      memoryMqtt: 1_000_000,
      memoryBatching: 100_000,
      storage: { subscribers: 1000, rates: [200, 400, 800, 1600, 3200, 6400], seconds: 3, writerSeconds: 10, queryRows: 10_000_000, querySamples: 20 },
      sustained: { sensors: 1000, rates: [5000, 10000, 15000, 20000, 25000, 30000], seconds: 5 },
      storm: { sockets: 2000, missed: 100 },
    };
if (values['mqtt-messages']) sizes.memoryMqtt = Number(values['mqtt-messages']);
if (values['batch-pairs']) sizes.memoryBatching = Number(values['batch-pairs']);
if (values['query-rows']) sizes.storage.queryRows = Number(values['query-rows']);
/**
 * The memory scenarios stop themselves: after this long, or once the target's RSS passes this
 * (without the bounds of issue #13, a million new sensor ids would take gigabytes).
 */
const MEMORY_BOUNDS = { maxSeconds: 1200, maxRssBytes: 3 * 2 ** 30 };
const MB = 2 ** 20;
/** The batching target: `batchMs: 50`, p99 <= 150 ms; the peer (which has no batching) is held to the same p99. */
const BATCH_MS = 50;
const BATCH_P99_LIMIT_MS = 150;

/** RSS and live heap growth of a memory scenario, in MB, after a forced GC on both sides. */
const memoryFigures = (label: string, result: MemoryResult): Figures => ({
  [`RSS growth MB (${label})`]: (result.rssAfterBytes - result.rssBeforeBytes) / MB,
  [`live heap growth MB (${label})`]: (result.heapAfterBytes - result.heapBeforeBytes) / MB,
  [`RSS after MB (${label})`]: result.rssAfterBytes / MB,
  [`stopped by a bound (${label}; 1 = yes)`]: result.stoppedEarly ? 1 : 0,
});

/**
 * memory-mqtt: two fresh gateways, SENSOR_AUTO_REGISTER on then off (MAX_SENSORS and
 * MAX_METRICS_PER_SENSOR at their defaults, or `--max-sensors`), each given the same readings to
 * random sensor ids; with it on, as many again once the sensors' bound is reached.
 * memory-batching: one gateway, batch subscribe/unsubscribe pairs.
 */
async function measureMemory(scenario: Scenario): Promise<Figures> {
  const figures: Figures = {};
  const variants: [string, Record<string, string>][] =
    scenario === 'memory-mqtt'
      ? [
          ['auto-register on', { SENSOR_AUTO_REGISTER: 'true' }],
          ['auto-register off', { SENSOR_AUTO_REGISTER: 'false' }],
        ]
      : [['batch pairs', {}]];
  for (const [label, extra] of variants) {
    const unique = `bench-${process.pid}-${Date.now()}`;
    const env = { ...runEnv(unique, mqttUrl), ...extra, ...(values['max-sensors'] ? { MAX_SENSORS: values['max-sensors'] } : {}) };
    const target = await startTarget('gateway', env, values['gateway-node-args'].split(' ').filter(Boolean), { inspect: true });
    const run: Run = { target, targets: [target], mqttUrl, prefix: `${unique}/` };
    try {
      if (scenario === 'memory-mqtt') {
        // With auto-register on, as many messages again once the sensors' bound is reached: that flood shows whether growth stops.
        const result = await mqttMemory(run, sizes.memoryMqtt, MEMORY_BOUNDS, { again: extra['SENSOR_AUTO_REGISTER'] === 'true' });
        console.log(
          `  ${label}: ${result.sent} sent, ${result.processed} counted in ${result.seconds.toFixed(0)} s${result.stoppedEarly ? `, stopped early: ${result.stoppedEarly}` : ''}; rejected ${JSON.stringify(result.rejected)}`,
        );
        Object.assign(figures, memoryFigures(label, result), {
          [`messages sent (${label})`]: result.sent,
          [`messages counted (${label})`]: result.processed,
          [`readings/s (${label})`]: result.processed / result.seconds,
        });
        for (const [reason, count] of Object.entries(result.rejected)) figures[`rejected ${reason} (${label})`] = count;
        if (result.second) {
          console.log(
            `  ${label}, as many again: ${result.second.sent} sent, ${result.second.processed} counted${result.second.stoppedEarly ? `, stopped early: ${result.second.stoppedEarly}` : ''}`,
          );
          Object.assign(figures, {
            [`RSS growth MB over the second flood (${label})`]: (result.second.rssAfterBytes - result.rssAfterBytes) / MB,
            [`live heap growth MB over the second flood (${label})`]: (result.second.heapAfterBytes - result.heapAfterBytes) / MB,
          });
        }
      } else {
        const result = await batchMemory(run, sizes.memoryBatching, MEMORY_BOUNDS);
        console.log(
          `  ${result.pairs} pairs (${result.refused} refused) in ${result.seconds.toFixed(0)} s${result.stoppedEarly ? `, stopped early: ${result.stoppedEarly}` : ''}`,
        );
        Object.assign(figures, memoryFigures(label, result), {
          pairs: result.pairs,
          'pairs refused': result.refused,
          'pairs/s': result.pairs / result.seconds,
        });
      }
    } finally {
      await target.stop();
      cleanRunEnv(env);
    }
  }
  return figures;
}

/** The gateway with storage off, in effect: at most 1000 readings queued and a flush every 10 s (100 rows/s), the rest dropped at the cost of a counter. */
const NO_STORAGE_ENV = { READINGS_QUEUE_MAX: '1000', READINGS_FLUSH_MS: '10000' };

/**
 * storage-ingest: the same fan-out climb (1000 sockets of `readings`, `batchMs: 50`, up to the first loss)
 * against a gateway whose writer is held to a trickle (the baseline) and one that writes every
 * reading to PostgreSQL; then the writer alone, fed as fast as it takes readings.
 * storage-query: 10 million readings, the day's hourly averages of one series over HTTP and in SQL.
 * storage-rss: RSS and live heap at start after a forced GC: the bare socket.io peer (no database),
 * the gateway on embedded SQLite, the gateway on PostgreSQL.
 */
async function measureStorage(scenario: Scenario): Promise<Figures> {
  const figures: Figures = {};
  const gatewayArgs = values['gateway-node-args'].split(' ').filter(Boolean);
  const session = async <T>(
    kind: TargetKind,
    postgres: boolean,
    extra: Record<string, string>,
    inspect: boolean,
    body: (run: Run, databaseUrl: string) => Promise<T>,
  ): Promise<T> => {
    const unique = `bench-${process.pid}-${Date.now()}`;
    const database = postgres ? await benchDatabase(unique) : undefined;
    const env = { ...runEnv(unique, mqttUrl, undefined, database?.url), ...extra };
    try {
      const target = await startTarget(kind, env, kind === 'gateway' ? gatewayArgs : [], { inspect });
      try {
        return await body({ target, targets: [target], mqttUrl, prefix: `${unique}/` }, database?.url ?? '');
      } finally {
        await target.stop();
      }
    } finally {
      cleanRunEnv(env);
      await database?.drop();
    }
  };
  switch (scenario) {
    case 'storage-ingest': {
      const { subscribers, rates, seconds, writerSeconds } = sizes.storage;
      for (const [label, extra, mustWrite] of [
        ['no storage', NO_STORAGE_ENV, false],
        ['PostgreSQL', {}, true],
      ] as const) {
        // The climb ends on loss (or, with storage, on a reading not written), not on p99: on this shared machine a
        // 150 ms limit ended both sides at their first step. p99 is recorded at each side's knee and at the first rate.
        const result = await session('gateway', true, extra, false, (run, url) =>
          storageFanout(run, url, subscribers, rates, seconds, { mustWrite, p99LimitMs: Infinity }),
        );
        result.steps.forEach((s) =>
          console.log(
            `  ${label} @${s.rate}/s: loss ${(s.lossRatio * 100).toFixed(2)}%, p99 ${s.p99} ms, written ${s.writtenPerSecond.toFixed(0)}/s (${(s.writtenRatio * 100).toFixed(1)}%)`,
          ),
        );
        console.log(`  ${label}: ${result.published} published, ${result.rows} rows in the database`);
        Object.assign(figures, {
          [`fan-out knee readings/s (${label})`]: result.knee,
          [`readings delivered/s @knee (${label})`]: result.atKnee?.deliveriesPerSecond ?? 0,
          [`p99 ms @knee (${label})`]: result.atKnee?.p99 ?? NaN,
          [`p99 ms @${rates[0]}/s (${label})`]: result.steps[0]?.p99 ?? NaN,
          [`readings written/s @knee (${label})`]: result.atKnee?.writtenPerSecond ?? 0,
          [`rows in database / published (${label})`]: result.rows / result.published,
        });
      }
      figures['fan-out knee with storage / without'] = figures['fan-out knee readings/s (PostgreSQL)']! / figures['fan-out knee readings/s (no storage)']!;
      const alone = await session('gateway', true, {}, false, async (_run, url) => {
        // The gateway is idle meanwhile (its own database is this run's): only the writer process loads core 0.
        const rowsBefore = await countReadings(url);
        const result = await writerAlone(url, writerSeconds);
        return { ...result, rows: result.rows - rowsBefore };
      });
      console.log(`  writer alone: ${alone.accepted} accepted (${alone.dropped} dropped), ${alone.rows} rows, ${alone.readingsPerSecond.toFixed(0)}/s`);
      Object.assign(figures, {
        'writer alone readings/s (PostgreSQL)': alone.readingsPerSecond,
        'writer alone rows / accepted': alone.rows / alone.accepted,
        'writer alone dropped': alone.dropped,
      });
      return figures;
    }
    case 'storage-sustained': {
      const { sensors, rates, seconds } = sizes.sustained;
      const stepsOf: Record<string, StorageStep[]> = {};
      for (const [label, extra, mustWrite] of [
        ['no storage', NO_STORAGE_ENV, false],
        ['PostgreSQL', {}, true],
      ] as const) {
        const result = await session('gateway', true, extra, false, (run, url) => storageSustained(run, url, sensors, rates, seconds, { mustWrite }));
        stepsOf[label] = result.steps;
        result.steps.forEach((s) =>
          console.log(
            `  ${label} @${s.rate}/s: loss ${(s.lossRatio * 100).toFixed(2)}%, p99 ${s.p99} ms, written ${s.writtenPerSecond.toFixed(0)}/s (${(s.writtenRatio * 100).toFixed(1)}%)`,
          ),
        );
        Object.assign(figures, {
          [`sustained readings/s (${label})`]: result.knee,
          [`deliveries/s @knee (${label})`]: result.atKnee?.deliveriesPerSecond ?? 0,
          [`p99 ms @knee (${label})`]: result.atKnee?.p99 ?? NaN,
          [`readings written/s @knee (${label})`]: result.atKnee?.writtenPerSecond ?? 0,
        });
        if (mustWrite) figures['rows in database / published (PostgreSQL)'] = result.rows / result.published;
      }
      // Fan-out compared at the highest rate written in full: the same readings/s, with and without the writer.
      const rate = figures['sustained readings/s (PostgreSQL)']!;
      const withStorage = stepsOf['PostgreSQL']!.find((s) => s.rate === rate);
      const without = stepsOf['no storage']!.find((s) => s.rate === rate);
      Object.assign(figures, {
        'deliveries/s with storage / without @ that rate': withStorage && without ? withStorage.deliveriesPerSecond / without.deliveriesPerSecond : NaN,
        'p99 ms @ that rate (no storage)': without?.p99 ?? NaN,
      });
      return figures;
    }
    case 'storage-query': {
      const { queryRows, querySamples } = sizes.storage;
      const result = await session('gateway', true, {}, false, (run, url) => storageQuery(run, url, queryRows, querySamples));
      console.log(`  ${result.rows} rows loaded in ${result.loadSeconds.toFixed(0)} s (rollup backfill ${result.backfillSeconds.toFixed(0)} s)`);
      Object.assign(figures, {
        'rows in readings': result.rows,
        'load + backfill + vacuum analyze s': result.loadSeconds,
        'rollup backfill s': result.backfillSeconds,
      });
      for (const [name, series] of Object.entries(result.series)) {
        console.log(`  ${name} (${series.rows} readings), plan:\n${series.plan}`);
        const label = name === 'second' ? 'a reading/s' : '10 readings/s';
        Object.assign(figures, {
          [`series rows (${label})`]: series.rows,
          [`24 h @1h avg, HTTP ms median (${label})`]: series.httpMs.median,
          [`24 h @1h avg, HTTP ms max (${label})`]: series.httpMs.max,
          [`24 h @1h avg, SQL ms median (${label})`]: series.directMs.median,
          [`24 h @1h avg, SQL ms max (${label})`]: series.directMs.max,
          [`24 h @1h avg, over readings (no rollup) SQL ms median (${label})`]: series.rawMs.median,
        });
      }
      return figures;
    }
    case 'storage-rss': {
      for (const [label, kind, postgres] of [
        ['socket.io peer, no database', 'socketio-peer', false],
        ['gateway, embedded SQLite', 'gateway', false],
        ['gateway, PostgreSQL', 'gateway', true],
      ] as const) {
        const { rssBytes, heapBytes } = await session(kind, postgres, {}, true, (run) => startMemory(run));
        Object.assign(figures, { [`RSS MB (${label})`]: rssBytes / MB, [`live heap MB (${label})`]: heapBytes / MB });
      }
      figures['embedded cost MB (SQLite - PostgreSQL RSS)'] = figures['RSS MB (gateway, embedded SQLite)']! - figures['RSS MB (gateway, PostgreSQL)']!;
      return figures;
    }
    default:
      throw new Error(`No storage measurement for scenario ${scenario}`);
  }
}

async function measure(scenario: Scenario, kind: TargetKind): Promise<Figures> {
  if (STORAGE.has(scenario)) return measureStorage(scenario);
  if (GATEWAY_ONLY.has(scenario)) return measureMemory(scenario);
  const unique = `bench-${process.pid}-${Date.now()}`;
  const prefix = `${unique}/`;
  const profile =
    kind !== 'gateway'
      ? []
      : [...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), ...values['gateway-node-args'].split(' ').filter(Boolean)];
  const clustered = CLUSTERED.has(scenario);
  const database = clustered ? await benchDatabase(unique) : undefined;
  const env = runEnv(unique, mqttUrl, clustered ? redisUrl : undefined, database?.url);
  const cleanUp = async () => {
    cleanRunEnv(env);
    await database?.drop();
  };
  const targets = await Promise.all(Array.from({ length: clustered ? 2 : 1 }, () => startTarget(kind, env, profile, { inspect: scenario === 'connections' })));
  const target = targets[0]!;
  const run: Run = { target, targets, mqttUrl, prefix };
  try {
    switch (scenario) {
      case 'connections': {
        const figures: Figures = {};
        for (const count of sizes.connections) {
          const result = await connections(run, count);
          figures[`handshakes/s @${count}`] = result.handshakesPerSecond;
          figures[`RSS bytes/conn @${count}`] = result.rssPerConnectionBytes;
          figures[`live heap bytes/conn @${count}`] = result.heapPerConnectionBytes;
        }
        return figures;
      }
      case 'fanout':
      case 'fanout-cluster':
      case 'wsfanout': {
        const { subscribers, rates, seconds } = sizes.fanout;
        const result = await fanout(run, scenario === 'wsfanout' ? 'ws' : 'socketio', subscribers, rates, seconds);
        logSteps(kind, result.steps);
        return { 'knee (readings/s)': result.knee, ...stepFigures('half knee', result.atHalfKnee) };
      }
      case 'batching': {
        const { subscribers, rates, seconds } = sizes.batching;
        const result = await fanout(run, 'socketio', subscribers, rates, seconds, { batchMs: BATCH_MS, p99LimitMs: BATCH_P99_LIMIT_MS });
        logSteps(kind, result.steps);
        return { 'deliverable readings/s (knee)': result.knee, ...stepFigures('knee', result.atKnee, 'readings delivered/s') };
      }
      case 'ingest': {
        const qos0 = await ingest(run, sizes.ingest.subscribers, sizes.ingest.messages, 0);
        const qos1 = await ingest(run, sizes.ingest.subscribers, sizes.ingest.messages, 1);
        return {
          'QoS0 readings/s': qos0.readingsPerSecond,
          'QoS0 loss %': qos0.lossRatio * 100,
          'QoS1 readings/s': qos1.readingsPerSecond,
          'QoS1 loss %': qos1.lossRatio * 100,
        };
      }
      case 'memory-mqtt':
      case 'memory-batching':
      case 'storage-ingest':
      case 'storage-sustained':
      case 'storage-query':
      case 'storage-rss':
        break; // measured by measureMemory and measureStorage
      case 'reconnect-storm': {
        const { sockets, missed } = sizes.storm;
        const result = await reconnectStorm(run, sockets, missed);
        console.log(
          `  ${result.recovered}/${sockets} sockets recovered ${missed} events each in ${result.seconds.toFixed(2)} s (CPU: gateway ${result.cpuSeconds.toFixed(2)} s, load generator ${result.clientCpuSeconds.toFixed(2)} s); longest event-loop stall ${result.maxStallMs.toFixed(0)} ms`,
        );
        return {
          sockets,
          'events recovered each': missed,
          'sockets recovered': result.recovered,
          'seconds until all recovered': result.seconds,
          'longest event-loop stall ms': result.maxStallMs,
          'gateway CPU s': result.cpuSeconds,
        };
      }
      case 'peruser':
      case 'peruser-cluster': {
        const result = await perUser(run, sizes.peruser.users, sizes.peruser.devices, sizes.peruser.notifications);
        return { 'deliveries/s': result.deliveriesPerSecond, 'p50 ms': result.p50, 'p99 ms': result.p99, 'loss %': result.lossRatio * 100 };
      }
    }
    throw new Error(`No measurement for scenario ${String(scenario)}`);
  } finally {
    await Promise.all(targets.map((each) => (values['cpu-prof'] && kind === 'gateway' ? each.stop('SIGTERM') : each.stop())));
    await cleanUp();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// results.json stores NaN (no measurement) as null.
const fmt = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));
/** Throughput and latency of one step of a climb, named by where it was taken (NaN when there was no such step). */
const stepFigures = (where: string, step: StepResult | null, throughput = 'deliveries/s'): Figures => ({
  [`${throughput} @${where}`]: step?.deliveriesPerSecond ?? 0,
  [`p50 ms @${where}`]: step?.p50 ?? NaN,
  [`p99 ms @${where}`]: step?.p99 ?? NaN,
});
/** One line per rate step, so a knee can be read back to the step (loss or latency) that ended the climb. */
const logSteps = (kind: TargetKind, steps: StepResult[]) =>
  steps.forEach((s) => console.log(`  ${kind} @${s.rate}/s: loss ${(s.lossRatio * 100).toFixed(2)}%, p50 ${s.p50} ms, p99 ${s.p99} ms`));

async function main(): Promise<void> {
  const stored: Record<string, unknown> = existsSync(RESULTS_JSON) ? JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) : {};
  // --render-only: rewrite RESULTS.md from results.json (after editing NOTES.md), measuring nothing.
  for (const scenario of values['render-only'] ? [] : chosen === 'all' ? SCENARIOS : [chosen as Scenario]) {
    // S5 is plain WebSocket: its reference is the plain ws peer (the socket.io peer has no /ws).
    const reference: TargetKind | null = NO_REFERENCE.has(scenario) ? null : scenario === 'wsfanout' ? 'ws-peer' : 'socketio-peer';
    const kinds: TargetKind[] = reference ? ['gateway', reference] : ['gateway'];
    const samples: Record<string, Figures[]> = Object.fromEntries(kinds.map((kind) => [kind, []]));
    for (let round = 0; round < rounds; round++) {
      // Alternate who goes first, so drift on the machine does not favour one side.
      for (const kind of round % 2 === 0 ? kinds : [...kinds].reverse()) {
        console.log(`${scenario}: round ${round + 1}/${rounds}, ${kind}`);
        samples[kind]!.push(await measure(scenario, kind));
      }
    }
    const rows = Object.keys(samples['gateway']![0]!).map((metric) => {
      const cell = (kind: TargetKind) => {
        const xs = samples[kind]!.map((figures) => figures[metric]!);
        return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
      };
      return { metric, ...Object.fromEntries(kinds.map((kind) => [kind, cell(kind)])) };
    });
    stored[scenario] = { when: new Date().toISOString(), quick, rounds, reference, rows };
    console.table(
      rows.map((row: any) => ({
        metric: row.metric,
        ...Object.fromEntries(kinds.map((k) => [k, fmt(row[k].median)])),
        ...(reference ? { 'gateway/reference': fmt(row.gateway.median / row[reference].median) } : {}),
      })),
    );
  }
  if (values['max-sensors']) {
    // The recorded figures are the gateway's at its own bound; a run at another one is printed only.
    console.log('--max-sensors: printed only; results.json and RESULTS.md keep the figures at the default bound');
    return;
  }
  writeFileSync(RESULTS_JSON, `${JSON.stringify(stored, null, 2)}\n`);
  writeFileSync(RESULTS_MD, render(stored));
  console.log(`Wrote ${RESULTS_MD}`);
}

function render(stored: Record<string, any>): string {
  const versions = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { dependencies: Record<string, string> };
  const lines = [
    '# Benchmark results',
    '',
    'Generated by `npm run bench -- <scenario>` (see the README and `bench/run.ts`). Each figure is the median of the',
    'rounds, with [min-max] over them; targets run in fresh processes, alternating, on one core; the load on the other.',
    '',
    `- machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, taskset ${hasTaskset ? 'yes' : 'no'}`,
    `- versions: socket.io ${versions.dependencies['socket.io']}, @nestjs/core ${versions.dependencies['@nestjs/core']}, ws ${versions.dependencies['ws']}, mqtt ${versions.dependencies['mqtt']}`,
    `- broker: Mosquitto on 127.0.0.1:1883 for every target`,
    '',
  ];
  for (const [scenario, result] of Object.entries(stored)) {
    const kinds = Object.keys(result.rows[0]).filter((key) => key !== 'metric');
    lines.push(`## ${scenario}`, '', `\`npm run bench -- ${scenario}${result.quick ? ' --quick' : ''} --rounds ${result.rounds}\` (${result.when})`, '');
    // Gateway-only scenarios (memory) have no reference, hence no ratio column.
    const ratio = result.reference ? ` gateway / ${result.reference} |` : '';
    lines.push(`| metric | ${kinds.join(' | ')} |${ratio}`, `|---|${kinds.map(() => '---|').join('')}${result.reference ? '---|' : ''}`);
    for (const row of result.rows) {
      const cells = kinds.map((kind) => `${fmt(row[kind].median)} [${fmt(row[kind].min)}-${fmt(row[kind].max)}]`);
      lines.push(`| ${row.metric} | ${cells.join(' | ')} |${result.reference ? ` ${fmt(row.gateway.median / row[result.reference].median)} |` : ''}`);
    }
    lines.push('');
  }
  // The hand-written analysis (targets met or not, and why) follows the generated tables.
  const notes = fileURLToPath(new URL('../../bench/NOTES.md', import.meta.url));
  if (existsSync(notes)) lines.push(readFileSync(notes, 'utf8').trim(), '');
  return `${lines.join('\n')}\n`;
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
