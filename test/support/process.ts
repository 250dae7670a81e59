import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { tempDataDir } from './database.js';

export const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

/** A port that was free a moment ago. */
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

export interface GatewayProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when `text` appears in stdout or stderr. */
  waitFor: (text: string) => Promise<void>;
}

/**
 * Runs the built gateway (`npm run build` first) as a real process. Without `DATABASE_URL` or
 * `DATA_DIR` it gets an empty embedded database in a fresh temporary folder.
 */
export function spawnGateway(env: Record<string, string>): GatewayProcess {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
  // Its own empty embedded database unless the caller names one, removed when the process exits.
  const dataDir = env['DATABASE_URL'] || env['DATA_DIR'] ? {} : { DATA_DIR: tempDataDir('process') };
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env['PATH'] ?? '',
      NODE_ENV: 'development',
      DEMO_FEED: 'false',
      LOG_FORMAT: 'text',
      NO_COLOR: '1',
      MQTT_BROKER_PORT: '0',
      ...dataDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of waiters.filter((w) => output.includes(w.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      if (dataDir.DATA_DIR) rmSync(dataDir.DATA_DIR, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  return {
    child,
    output: () => output,
    exited,
    waitFor: (text) =>
      new Promise((resolve, reject) => {
        if (output.includes(text)) return resolve();
        waiters.push({ text, resolve });
        void exited.then(({ code }) => reject(new Error(`gateway exited (${code}) before "${text}":\n${output}`)));
      }),
  };
}
