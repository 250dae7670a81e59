import jwt from 'jsonwebtoken';
import mqtt, { type MqttClient } from 'mqtt';
import { Inspector } from './inspector.js';
import { connectPlainWs, LeanSocketIo } from './lean-clients.js';
import { BENCH_SECRET, cpuSeconds, rssBytes, type Target } from './targets.js';

export interface Run {
  /** The instance HTTP calls go to, and the first of `targets`. */
  target: Target;
  /** Every instance (two in the cluster scenarios); sockets are spread over them. */
  targets: Target[];
  mqttUrl: string;
  /** Topic prefix the target subscribes under. */
  prefix: string;
}

/** The token every scenario's sockets present: an hour's expiry, like a real login. */
export const token = (sub: string, role = 'user') => jwt.sign({ sub, role }, BENCH_SECRET, { expiresIn: 3600 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Opens `count` authenticated sockets, `concurrency` handshakes at a time; socket `i` goes to instance `instance(i)`. */
export async function openSockets(
  run: Run,
  count: number,
  { concurrency = 200, user = (i: number) => `u${i}`, instance = (i: number) => i % run.targets.length } = {},
): Promise<{ sockets: LeanSocketIo[]; seconds: number }> {
  const sockets: LeanSocketIo[] = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - i) }, (_, k) =>
      LeanSocketIo.connect(run.targets[instance(i + k)]!.url, token(user(i + k))),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  return { sockets, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

export interface ConnectionsResult {
  handshakesPerSecond: number;
  rssPerConnectionBytes: number;
  /** Live heap per connection after a forced GC; NaN when the target has no inspector. */
  heapPerConnectionBytes: number;
}

/**
 * S1: handshakes per second and server memory per idle connection. With the target's inspector,
 * both memory readings follow a forced full GC, so garbage left by the handshakes is not counted.
 */
export async function connections(run: Run, count: number): Promise<ConnectionsResult> {
  const inspector = run.target.inspectPort === undefined ? null : await Inspector.attach(run.target.inspectPort);
  try {
    const heapBefore = (await inspector?.liveHeapBytes()) ?? NaN;
    const before = rssBytes(run.target.pid);
    const { sockets, seconds } = await openSockets(run, count);
    await sleep(1000);
    const heapAfter = (await inspector?.liveHeapBytes()) ?? NaN;
    const after = rssBytes(run.target.pid);
    sockets.forEach((socket) => socket.close());
    await sleep(500);
    return { handshakesPerSecond: count / seconds, rssPerConnectionBytes: (after - before) / count, heapPerConnectionBytes: (heapAfter - heapBefore) / count };
  } finally {
    inspector?.close();
  }
}

export async function publisher(run: Run): Promise<MqttClient> {
  const client = await mqtt.connectAsync(run.mqttUrl, { protocolVersion: 4, clientId: `bench-pub-${process.pid}-${Date.now()}` });
  (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  return client;
}

export interface Receivers {
  received: () => number;
  latencies: number[];
  close: () => void;
}

/** Sockets subscribed to `readings`; with `batchMs`, each reading inside a `reading:batch` counts (a peer without batching ignores it). */
export async function socketIoReceivers(run: Run, count: number, batchMs?: number): Promise<Receivers> {
  const { sockets } = await openSockets(run, count);
  let received = 0;
  const latencies: number[] = [];
  await Promise.all(sockets.map((socket) => socket.emitWithAck('subscribe', batchMs === undefined ? { topic: 'readings' } : { topic: 'readings', batchMs })));
  for (const socket of sockets) {
    socket.onEvent = (event, payload) => {
      const now = Date.now();
      if (event === 'reading:new') {
        received += 1;
        latencies.push(now - (payload as { ts: number }).ts);
      } else if (event === 'reading:batch') {
        for (const reading of (payload as { readings: { ts: number }[] }).readings) {
          received += 1;
          latencies.push(now - reading.ts);
        }
      }
    };
  }
  return { received: () => received, latencies, close: () => sockets.forEach((s) => s.close()) };
}

async function plainReceivers(run: Run, count: number): Promise<Receivers> {
  let received = 0;
  const latencies: number[] = [];
  const clients: Awaited<ReturnType<typeof connectPlainWs>>[] = [];
  for (let i = 0; i < count; i += 200) {
    clients.push(
      ...(await Promise.all(Array.from({ length: Math.min(200, count - i) }, (_, k) => connectPlainWs(run.target.url, token(`w${i + k}`), ['readings'])))),
    );
  }
  for (const client of clients) {
    client.onEvent((message: { event?: string; payload?: { ts: number } }) => {
      if (message.event !== 'reading:new') return;
      received += 1;
      latencies.push(Date.now() - message.payload!.ts);
    });
  }
  return { received: () => received, latencies, close: () => clients.forEach((c) => c.ws.terminate()) };
}

export interface StepResult {
  rate: number;
  expected: number;
  received: number;
  lossRatio: number;
  p50: number;
  p99: number;
  deliveriesPerSecond: number;
}

/** Publishes `rate` readings/s for `seconds` and measures what `receivers` got. */
export async function step(
  run: Run,
  client: MqttClient,
  receivers: Receivers,
  subscribers: number,
  rate: number,
  seconds: number,
  sensor: string,
): Promise<StepResult> {
  const startReceived = receivers.received();
  receivers.latencies.length = 0;
  const total = Math.round(rate * seconds);
  const started = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
    for (; sent < due; sent++) client.publish(`${run.prefix}sensors/${sensor}/v`, JSON.stringify({ value: sent, ts: Date.now() }), { qos: 0 });
    await sleep(5);
  }
  const expected = total * subscribers;
  const deadline = Date.now() + 3000;
  while (receivers.received() - startReceived < expected && Date.now() < deadline) await sleep(50);
  const received = receivers.received() - startReceived;
  const sorted = [...receivers.latencies].sort((a, b) => a - b);
  return {
    rate,
    expected,
    received,
    lossRatio: 1 - received / expected,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    deliveriesPerSecond: received / seconds,
  };
}

export interface FanoutResult {
  steps: StepResult[];
  /** Highest rate with no loss and p99 within the limit; 0 when none. */
  knee: number;
  atKnee: StepResult | null;
  atHalfKnee: StepResult | null;
}

export interface FanoutOptions {
  /** A step with a higher p99 ends the climb. @default 100 */
  p99LimitMs?: number;
  /** Subscribe with `batchMs` (the gateway's `reading:batch`). */
  batchMs?: number;
}

/** S2 (Socket.IO), S5 (plain WebSocket) and the batching scenario: stepped rates to `subscribers` sockets of `readings`. */
export async function fanout(
  run: Run,
  protocol: 'socketio' | 'ws',
  subscribers: number,
  rates: number[],
  seconds: number,
  { p99LimitMs = 100, batchMs }: FanoutOptions = {},
): Promise<FanoutResult> {
  const receivers = protocol === 'socketio' ? await socketIoReceivers(run, subscribers, batchMs) : await plainReceivers(run, subscribers);
  const client = await publisher(run);
  const steps: StepResult[] = [];
  const withinLimits = (s: StepResult) => s.lossRatio === 0 && s.p99 <= p99LimitMs;
  try {
    // Warm-up at the first rate, not counted: the first second of a fresh process (JIT, first
    // allocations) otherwise decides the first step's p99.
    await step(run, client, receivers, subscribers, rates[0]!, Math.min(1, seconds), `fan-${protocol}`);
    for (const rate of rates) {
      const result = await step(run, client, receivers, subscribers, rate, seconds, `fan-${protocol}`);
      steps.push(result);
      if (!withinLimits(result)) break;
    }
    const knee = Math.max(0, ...steps.filter(withinLimits).map((s) => s.rate));
    const atHalfKnee = knee > 0 ? await step(run, client, receivers, subscribers, knee / 2, seconds, `fan-${protocol}`) : null;
    return { steps, knee, atKnee: steps.find((s) => s.rate === knee) ?? null, atHalfKnee };
  } finally {
    receivers.close();
    await client.endAsync();
  }
}

/** S3: a flood of `messages` readings at QoS 0 or 1 to `subscribers` sockets. */
export async function ingest(run: Run, subscribers: number, messages: number, qos: 0 | 1): Promise<{ readingsPerSecond: number; lossRatio: number }> {
  const receivers = await socketIoReceivers(run, subscribers);
  const client = await publisher(run);
  try {
    const started = Date.now();
    const window: Promise<unknown>[] = [];
    for (let i = 0; i < messages; i++) {
      const topic = `${run.prefix}sensors/flood-${qos}/v`;
      const payload = JSON.stringify({ value: i, ts: Date.now() });
      if (qos === 0) client.publish(topic, payload, { qos: 0 });
      else window.push(client.publishAsync(topic, payload, { qos: 1 }));
      if (window.length >= 100) await Promise.all(window.splice(0));
      if (i % 500 === 499) await sleep(0);
    }
    await Promise.all(window);
    const expected = messages * subscribers;
    // Done when everything arrived, or nothing more arrives for 2 s (what is missing then is lost).
    let last = -1;
    let lastChange = Date.now();
    let finished = Date.now();
    while (receivers.received() < expected && Date.now() - lastChange < 2000) {
      if (receivers.received() !== last) {
        last = receivers.received();
        lastChange = finished = Date.now();
      }
      await sleep(20);
    }
    if (receivers.received() >= expected) finished = Date.now();
    const elapsed = (finished - started) / 1000;
    const perSubscriber = receivers.received() / subscribers;
    return { readingsPerSecond: perSubscriber / elapsed, lossRatio: 1 - receivers.received() / expected };
  } finally {
    receivers.close();
    await client.endAsync();
  }
}

/**
 * S4: `users` x `devices` sockets; `notifications` to each user, one request per 1000 users,
 * each once the one before is delivered. Each lasts from its first request to its last delivery,
 * not to the HTTP answer: the gateway's lists every stored notification's id, the peer's is empty,
 * and neither is a delivery.
 */
export async function perUser(
  run: Run,
  users: number,
  devices: number,
  notifications = 1,
): Promise<{ deliveriesPerSecond: number; p50: number; p99: number; lossRatio: number }> {
  // Socket i is device floor(i / users) of user i % users; in a cluster, device d connects to instance d.
  const { sockets } = await openSockets(run, users * devices, {
    user: (i) => `user-${i % users}`,
    instance: (i) => Math.floor(i / users) % run.targets.length,
  });
  const perNotification = users * devices;
  let received = 0;
  let lastDeliveryAt = 0;
  let allDelivered = () => {};
  const latencies: number[] = [];
  for (const socket of sockets) {
    socket.onEvent = (event) => {
      if (event !== 'notification:new') return;
      received += 1;
      lastDeliveryAt = Date.now();
      latencies.push(lastDeliveryAt - sentAt);
      if (received % perNotification === 0) allDelivered();
    };
  }
  const userIds = Array.from({ length: users }, (_, i) => `user-${i}`);
  const isGateway = run.target.kind === 'gateway';
  let sentAt = Date.now();
  let busyMs = 0;
  try {
    for (let sent = 1; sent <= notifications; sent++) {
      const delivered = new Promise<boolean>((resolve) => {
        allDelivered = () => resolve(true);
        setTimeout(() => resolve(false), 10_000).unref();
      });
      sentAt = Date.now();
      for (let i = 0; i < userIds.length; i += 1000) {
        const response = await fetch(`${run.target.url}${isGateway ? '/api/v1/notifications' : '/notify'}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token('bench-service', 'service')}` },
          body: JSON.stringify({ userIds: userIds.slice(i, i + 1000), title: 'bench', message: 'hello' }),
        });
        if (!response.ok) throw new Error(`notify answered ${response.status}`);
        await response.arrayBuffer();
      }
      const complete = received >= sent * perNotification || (await delivered);
      busyMs += Math.max(0, lastDeliveryAt - sentAt);
      if (!complete) break;
    }
    const expected = perNotification * notifications;
    const sorted = latencies.sort((a, b) => a - b);
    return {
      deliveriesPerSecond: busyMs > 0 ? received / (busyMs / 1000) : 0,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      lossRatio: 1 - received / expected,
    };
  } finally {
    sockets.forEach((socket) => socket.close());
  }
}

/** What a memory scenario leaves behind in the target: RSS and live heap after a forced GC, before and after. */
export interface MemoryResult {
  rssBeforeBytes: number;
  rssAfterBytes: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  seconds: number;
  /** Set when a bound (time, or the target's RSS) stopped the scenario before it finished. */
  stoppedEarly: string | null;
}

/** Reads the target's memory after a full GC (through its inspector) and a moment to give pages back. */
export async function settledMemory(run: Run, inspector: Inspector): Promise<{ rss: number; heap: number }> {
  const heap = await inspector.liveHeapBytes();
  await sleep(500);
  await inspector.call('HeapProfiler.collectGarbage');
  return { rss: rssBytes(run.target.pid), heap };
}

/** A small seeded PRNG (mulberry32), so a run's sensor ids and metrics repeat from one run to the next. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The target's MQTT counters: accepted, and rejected by reason. */
async function mqttCounters(run: Run): Promise<{ accepted: number; rejected: Record<string, number> }> {
  let text: string;
  for (let attempt = 1; ; attempt++) {
    try {
      text = await (await fetch(`${run.target.url}/api/v1/metrics`)).text();
      break;
    } catch (error) {
      // A target slowed by a profiler can close an idle keep-alive connection as the next request goes out on it.
      if (attempt === 3) throw error;
    }
  }
  let accepted = 0;
  const rejected: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('mqtt_messages_accepted_total ')) accepted = Number(line.split(' ')[1]);
    const reason = /^mqtt_messages_rejected_total\{reason="([^"]+)"\} (\S+)$/.exec(line);
    if (reason) rejected[reason[1]!] = Number(reason[2]);
  }
  return { accepted, rejected };
}

export interface MqttMemoryResult extends MemoryResult {
  sent: number;
  /** Accepted plus rejected, as the target counted them. */
  processed: number;
  rejected: Record<string, number>;
  /** After as many messages again, to new random ids: whether the growth stops where the bounds say it must. */
  second: { sent: number; processed: number; rssAfterBytes: number; heapAfterBytes: number; stoppedEarly: string | null } | null;
}

export interface MemoryBounds {
  /** Stop sending after this long. */
  maxSeconds: number;
  /** Stop sending once the target's RSS passes this (a flood with no bound on what it creates would otherwise take the machine). */
  maxRssBytes: number;
}

/**
 * `messages` QoS 0 readings to random sensor ids and metrics (a few hot sensors get many metrics, the
 * rest are new ids), sent as fast as the target ingests them (at most `window` ahead of what it has
 * counted), then its memory once ingestion has settled. Registration of unknown sensors is decided by
 * the target's environment (`SENSOR_AUTO_REGISTER`, `MAX_SENSORS`, `MAX_METRICS_PER_SENSOR`). With
 * `again`, and once the first flood has reached `MAX_SENSORS`, as many messages more to new ids
 * follow, measured the same way: that second flood should add next to nothing.
 */
export async function mqttMemory(
  run: Run,
  messages: number,
  { maxSeconds, maxRssBytes }: MemoryBounds,
  { window = 5_000, again = false }: { window?: number; again?: boolean } = {},
): Promise<MqttMemoryResult> {
  if (run.target.inspectPort === undefined) throw new Error('mqttMemory needs a target started with { inspect: true }');
  const inspector = await Inspector.attach(run.target.inspectPort);
  const client = await publisher(run);
  const random = seeded(1_000_003);
  const id = (prefix: string, digits: number) => `${prefix}${Math.floor(random() * 36 ** digits).toString(36)}`;
  const hot = Array.from({ length: 100 }, (_, i) => `hot-${i}`);
  const processed = async () => {
    const { accepted, rejected } = await mqttCounters(run);
    return accepted + Object.values(rejected).reduce((a, b) => a + b, 0);
  };
  /** Sends `count` readings in windows of `window` unanswered ones, then waits until the target has counted them (or stopped counting). */
  const flood = async (count: number, started: number) => {
    const start = await processed();
    let stoppedEarly: string | null = null;
    let sent = 0;
    let done = start;
    let lastProgress = Date.now();
    while (sent < count) {
      if (Date.now() - started > maxSeconds * 1000) {
        stoppedEarly = `time limit (${maxSeconds} s)`;
        break;
      }
      if (rssBytes(run.target.pid) > maxRssBytes) {
        stoppedEarly = `target RSS over ${(maxRssBytes / 2 ** 20).toFixed(0)} MB`;
        break;
      }
      const batch = Math.min(count - sent, window - (sent - (done - start)));
      for (let i = 0; i < batch; i++) {
        const sensor = random() < 0.1 ? hot[Math.floor(random() * hot.length)]! : id('s', 8);
        client.publish(`${run.prefix}sensors/${sensor}/${id('m', 3)}`, (random() * 100).toFixed(2), { qos: 0 });
        if (i % 500 === 499) await sleep(0);
      }
      sent += Math.max(0, batch);
      await sleep(100);
      const now = await processed();
      if (now !== done) lastProgress = Date.now();
      done = now;
      // QoS 0: what the broker dropped never arrives. After 5 s without progress, count it lost and go on.
      if (Date.now() - lastProgress > 5_000) {
        done = start + sent;
        lastProgress = Date.now();
      }
    }
    // Settled: everything sent is counted, or nothing more is counted for 3 s.
    let last = -1;
    let lastChange = Date.now();
    while ((await processed()) - start < sent && Date.now() - lastChange < 3_000) {
      const now = await processed();
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      }
      await sleep(200);
    }
    return { sent, processed: (await processed()) - start, stoppedEarly };
  };
  try {
    // One reading first, so the pipeline's first-use allocations are in the baseline, not in the growth.
    const base = await processed();
    client.publish(`${run.prefix}sensors/warm-up/v`, '1', { qos: 0 });
    for (let waited = 0; (await processed()) <= base && waited < 5_000; waited += 50) await sleep(50);
    const before = await settledMemory(run, inspector);
    const started = Date.now();
    const first = await flood(messages, started);
    const seconds = (Date.now() - started) / 1000;
    const after = await settledMemory(run, inspector);
    const { rejected } = await mqttCounters(run);
    let second: MqttMemoryResult['second'] = null;
    // Only once the sensors' bound refused some: before it, more messages register more sensors, as they should.
    if (again && first.stoppedEarly === null && (rejected['sensor_limit'] ?? 0) > 0) {
      const more = await flood(messages, Date.now());
      const afterMore = await settledMemory(run, inspector);
      second = { sent: more.sent, processed: more.processed, rssAfterBytes: afterMore.rss, heapAfterBytes: afterMore.heap, stoppedEarly: more.stoppedEarly };
    }
    return {
      sent: first.sent,
      processed: first.processed,
      rejected,
      rssBeforeBytes: before.rss,
      rssAfterBytes: after.rss,
      heapBeforeBytes: before.heap,
      heapAfterBytes: after.heap,
      seconds,
      stoppedEarly: first.stoppedEarly,
      second,
    };
  } finally {
    inspector.close();
    await client.endAsync();
  }
}

export interface BatchMemoryResult extends MemoryResult {
  pairs: number;
  /** Acks that were not `{ ok: true }` (a refusal is not a leak, but it is not a pair either). */
  refused: number;
}

/**
 * `pairs` of `subscribe {topic, batchMs}` then `unsubscribe {topic}` from `sockets` Socket.IO clients,
 * each pair on a topic and period of its own (`sensor:<id>`, 1-1000 ms), `concurrency` pairs in flight
 * per socket; then the target's memory with every subscription gone.
 */
export async function batchMemory(
  run: Run,
  pairs: number,
  { maxSeconds, maxRssBytes }: MemoryBounds,
  sockets = 10,
  concurrency = 20,
): Promise<BatchMemoryResult> {
  if (run.target.inspectPort === undefined) throw new Error('batchMemory needs a target started with { inspect: true }');
  const inspector = await Inspector.attach(run.target.inspectPort);
  const { sockets: clients } = await openSockets(run, sockets);
  const random = seeded(2_000_003);
  try {
    // One pair first, so the batcher's first-use allocations are in the baseline.
    await clients[0]!.emitWithAck('subscribe', { topic: 'sensor:warm-up', batchMs: 50 });
    await clients[0]!.emitWithAck('unsubscribe', { topic: 'sensor:warm-up' });
    const before = await settledMemory(run, inspector);
    const started = Date.now();
    let next = 0;
    let done = 0;
    let refused = 0;
    let stoppedEarly: string | null = null;
    const worker = async (socket: LeanSocketIo) => {
      while (next < pairs && stoppedEarly === null) {
        const n = next++;
        const topic = `sensor:b${n.toString(36)}-${Math.floor(random() * 36 ** 6).toString(36)}`;
        const subscribed = await socket.emitWithAck('subscribe', { topic, batchMs: 1 + Math.floor(random() * 1000) });
        const unsubscribed = await socket.emitWithAck('unsubscribe', { topic });
        if (subscribed?.ok !== true || unsubscribed?.ok !== true) refused += 1;
        done += 1;
        if (done % 1000 === 0) {
          if (Date.now() - started > maxSeconds * 1000) stoppedEarly = `time limit (${maxSeconds} s)`;
          else if (rssBytes(run.target.pid) > maxRssBytes) stoppedEarly = `target RSS over ${(maxRssBytes / 2 ** 20).toFixed(0)} MB`;
        }
      }
    };
    await Promise.all(clients.flatMap((socket) => Array.from({ length: concurrency }, () => worker(socket))));
    const seconds = (Date.now() - started) / 1000;
    const after = await settledMemory(run, inspector);
    return {
      pairs: done,
      refused,
      rssBeforeBytes: before.rss,
      rssAfterBytes: after.rss,
      heapBeforeBytes: before.heap,
      heapAfterBytes: after.heap,
      seconds,
      stoppedEarly,
    };
  } finally {
    clients.forEach((socket) => socket.close());
    inspector.close();
  }
}

export interface StormResult {
  /** Sockets that came back with `recovered: true` and every missed event, in order. */
  recovered: number;
  /** From the first reconnect to the last socket holding every missed event. */
  seconds: number;
  /** The gateway's longest event-loop delay during the storm (prom-client's `nodejs_eventloop_lag_max_seconds`, reset by the scrape before). */
  maxStallMs: number;
  /** CPU time the gateway spent on the storm: steadier than the wall-clock figures on a shared machine. */
  cpuSeconds: number;
  /** CPU time this load generator spent on it: near `seconds`, it (not the gateway) sets the pace. */
  clientCpuSeconds: number;
}

/** The gateway's `nodejs_eventloop_lag_max_seconds` since the previous scrape, in ms. */
async function eventLoopMaxMs(run: Run): Promise<number> {
  const text = await (await fetch(`${run.target.url}/api/v1/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('nodejs_eventloop_lag_max_seconds'));
  return line ? Number(line.split(' ').at(-1)) * 1000 : NaN;
}

/**
 * Reconnect storm (issue #14): `count` sockets hold a topic, drop together (no clean close), the
 * topic gets `missed` publications, then every socket comes back at once with `since` and must
 * recover all of them. The gateway alone: the bare peer has no history to recover from.
 */
export async function reconnectStorm(run: Run, count: number, missed: number): Promise<StormResult> {
  const topic = 'sensor:storm-1';
  const { sockets } = await openSockets(run, count, { user: (i) => `storm-${i}` });
  const acks = await Promise.all(sockets.map((socket) => socket.emitWithAck('subscribe', { topic })));
  const since = { epoch: acks[0].epoch as string, offset: acks[0].offset as number };
  sockets.forEach((socket) => socket.close());
  const admin = token('bench-admin', 'admin');
  for (let i = 0; i < missed; i++) {
    const response = await fetch(`${run.target.url}/api/v1/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ topic, event: 'system:event', data: { level: 'info', message: 'storm', data: { i }, timestamp: new Date().toISOString() } }),
    });
    if (!response.ok) throw new Error(`publish answered ${response.status}`);
    await response.arrayBuffer();
  }
  await sleep(200);
  await eventLoopMaxMs(run); // resets the maximum: what follows is the storm's
  const cpuBefore = cpuSeconds(run.target.pid);
  const clientBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  let recovered = 0;
  const back = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const socket = await LeanSocketIo.connect(run.target.url, token(`storm-${i}`));
      let next = 0;
      let inOrder = true;
      const all = new Promise<void>((resolve) => {
        socket.onEvent = (event, payload) => {
          if (event !== 'system:event') return;
          if (payload.data.i !== next) inOrder = false;
          next += 1;
          if (next === missed) resolve();
        };
      });
      const ack = await socket.emitWithAck('subscribe', { topic, since });
      await Promise.race([all, sleep(30_000)]);
      if (ack.recovered === true && inOrder && next === missed) recovered += 1;
      return socket;
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuSeconds(run.target.pid) - cpuBefore;
  const client = process.cpuUsage(clientBefore);
  const maxStallMs = await eventLoopMaxMs(run);
  back.forEach((socket) => socket.close());
  return { recovered, seconds, maxStallMs, cpuSeconds: cpu, clientCpuSeconds: (client.user + client.system) / 1e6 };
}
