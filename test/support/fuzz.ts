import { connect } from 'node:net';

/** The seed of a fuzz run: `FUZZ_SEED=<integer>` replays another run; the default keeps CI deterministic. */
export function fuzzSeed(): number {
  const raw = process.env['FUZZ_SEED'];
  if (raw === undefined || raw === '') return 13;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got "${raw}"`);
  return seed;
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same inputs, so a failure reproduces. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** `n` characters from `alphabet` (printable ASCII by default). */
  string(n: number, alphabet = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'): string {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }
}

/** How many inputs of each kind a run threw. */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(kind: string, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
  }

  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  get kinds(): number {
    return this.counts.size;
  }

  summary(): string {
    return [...this.counts].map(([kind, n]) => `${kind}=${n}`).join(' ');
  }
}

/** What a raw TCP exchange got back. */
export interface RawReply {
  /** The HTTP status of the first response line, or null when none came. */
  status: number | null;
  /** Everything received (capped), as latin1 text. */
  text: string;
  /** The server closed (or reset) the connection. */
  closed: boolean;
  /** Nothing ended the exchange within the time limit; the client closed it. */
  timedOut: boolean;
}

export interface RawOptions {
  /** Half-close after writing, so a server waiting for more of a body sees the end. @default true */
  end?: boolean;
  timeoutMs?: number;
  /** Resolve as soon as a complete response head has arrived (and close): for upgrades that succeed. @default false */
  headOnly?: boolean;
  /** Resolve as soon as `until` matches the received bytes (and close). */
  until?: (received: Buffer) => boolean;
}

const MAX_KEPT_BYTES = 64 * 1024;

/** Writes `chunks` to 127.0.0.1:`port` over a fresh TCP connection and collects the answer, bounded in time and size. */
export function rawExchange(
  port: number,
  chunks: (string | Buffer)[],
  { end = true, timeoutMs = 2_000, headOnly = false, until }: RawOptions = {},
): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean, timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = received.toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match ? Number(match[1]) : null, text, closed, timedOut });
    };
    const timer = setTimeout(() => finish(false, true), timeoutMs);
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
      if (end) socket.end();
    });
    socket.on('data', (data: Buffer) => {
      if (received.length < MAX_KEPT_BYTES) received = Buffer.concat([received, data]);
      if (headOnly && received.includes('\r\n\r\n')) finish(false, false);
      else if (until?.(received)) finish(false, false);
    });
    socket.on('error', () => finish(true, false));
    socket.on('close', () => finish(true, false));
  });
}

/** Runs `task` over `items`, `concurrency` at a time, stopping early (not failing) once `deadline` (ms epoch) passes. Returns how many ran. */
export async function runPool<T>(items: readonly T[], concurrency: number, deadline: number, task: (item: T, index: number) => Promise<void>): Promise<number> {
  let next = 0;
  let ran = 0;
  const worker = async () => {
    while (next < items.length && Date.now() < deadline) {
      const index = next++;
      await task(items[index]!, index);
      ran += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return ran;
}

/** The sum of every sample of a Prometheus text exposition whose series starts with `prefix` (e.g. `mqtt_messages_rejected_total{`) and contains every `with`. */
export function metricSum(text: string, prefix: string, ...with_: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix) || !with_.every((part) => line.includes(part))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
