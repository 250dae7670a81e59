import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export type TargetKind = 'gateway' | 'socketio-peer' | 'ws-peer';

export interface Target {
  kind: TargetKind;
  url: string;
  pid: number;
  child: ChildProcess;
  /** The V8 inspector's port when started with `{ inspect: true }`. */
  inspectPort?: number;
  /** SIGKILL by default; SIGTERM lets the gateway drain and write a CPU profile. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export const BENCH_SECRET = 'bench-secret-bench-secret-bench-secret';
// This file runs from dist/bench/lib (npm run bench) or bench/lib (the smoke test): targets always run built.
const repoRoot = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/dist\/$/, '/');
const dist = (path: string) => `${repoRoot}dist/${path}`;
const ENTRY: Record<TargetKind, string> = {
  gateway: dist('src/main.js'),
  'socketio-peer': dist('bench/peers/socketio-peer.js'),
  'ws-peer': dist('bench/peers/ws-peer.js'),
};

/** The gateway runs with the flags it ships with (package.json `start:prod`, the Dockerfile). */
const SHIPPED_NODE_FLAGS: Record<TargetKind, string[]> = { gateway: ['--max-semi-space-size=32'], 'socketio-peer': [], 'ws-peer': [] };

export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The environment of one benchmark run, the same for every kind of target (the peers read the
 * gateway's variable names): its own MQTT topic prefix and, for a cluster, its own Redis keys and
 * share group, so runs never see each other's traffic.
 */
export function runEnv(unique: string, mqttUrl: string, redisUrl?: string, databaseUrl?: string): Record<string, string> {
  const env: Record<string, string> = { MQTT_URL: mqttUrl, MQTT_TOPIC_PREFIX: `${unique}/` };
  if (redisUrl) Object.assign(env, { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `${unique}:`, MQTT_SHARE_GROUP: unique });
  // A cluster shares one PostgreSQL database; a single instance gets an empty embedded one of its own.
  if (databaseUrl) env['DATABASE_URL'] = databaseUrl;
  else env['DATA_DIR'] = mkdtempSync(join(tmpdir(), `${unique}-data-`));
  return env;
}

/** Removes what {@link runEnv} created for a single instance (its embedded database's folder). */
export function cleanRunEnv(env: Record<string, string>): void {
  if (env['DATA_DIR']) rmSync(env['DATA_DIR'], { recursive: true, force: true });
}

/** A fresh PostgreSQL database for one clustered run (`BENCH_POSTGRES_URL`, default the local server), and how to drop it. */
export async function benchDatabase(unique: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env['BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `rtg_bench_${unique.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`.slice(0, 63);
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  return { url: adminUrl.replace(/\/[^/]*$/, `/${name}`), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

/**
 * Starts a target on its own port, pinned to core 0 when `taskset` exists, against the shared broker.
 * `nodeArgs`: e.g. `--cpu-prof`; `inspect` opens the V8 inspector on 127.0.0.1 (see Inspector).
 */
export async function startTarget(kind: TargetKind, env: Record<string, string>, nodeArgs: string[] = [], { inspect = false } = {}): Promise<Target> {
  const port = await freePort();
  const inspectPort = inspect ? await freePort() : undefined;
  if (inspectPort !== undefined) nodeArgs = [...nodeArgs, `--inspect=127.0.0.1:${inspectPort}`];
  const fullEnv = {
    PATH: process.env['PATH'] ?? '',
    PORT: String(port),
    JWT_SECRET: BENCH_SECRET,
    LOG_LEVEL: 'warn',
    DEMO_FEED: 'false',
    WS_RATE_LIMIT: '100000',
    WEBSOCKET_MAX_CONNECTIONS: '100000',
    // The scenarios flood one sensor id of their own choosing: a throughput test, not a device.
    SENSOR_AUTO_REGISTER: 'true',
    MQTT_DEVICE_RATE_LIMIT: '100000',
    MQTT_CLIENT_ID: `bench-${kind}-${process.pid}-${port}`,
    ...env,
  };
  const node = [process.execPath, ...SHIPPED_NODE_FLAGS[kind], ...nodeArgs, ENTRY[kind]];
  const [command, args] = hasTaskset ? ['taskset', ['-c', '0', ...node]] : [node[0]!, node.slice(1)];
  const child = spawn(command, args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  // Ready when it answers HTTP at all (the peers answer 404, the gateway its health).
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`${kind} exited (${child.exitCode}) before listening:\n${output}`);
    const answered = await fetch(`http://127.0.0.1:${port}/api/v1/health`).then(
      () => true,
      () => false,
    );
    if (answered) break;
    if (attempt > 200) throw new Error(`${kind} did not listen within 20 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Let the MQTT subscription settle.
  await new Promise((resolve) => setTimeout(resolve, 300));
  // A target that dies mid-run says why, instead of the next request failing with no reason.
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`${kind} exited during the run (${code ?? signal}); its last output:\n${output.slice(-4000)}`);
  });
  return {
    kind,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    child,
    inspectPort,
    stop: (signal = 'SIGKILL') =>
      new Promise((resolve) => {
        stopping = true;
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

/** Resident set size of a process in bytes (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** CPU time (user + system) a process has used, in seconds (Linux; clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
