import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReadingPayload } from '#contracts';
import { RedisConnection } from '#redis';
import { TcpProxy } from '../../../../test/support/tcp-proxy.js';
import { parseStreamMessage, RedisStreamHistory, splitBatch, type RedisStreamHistoryLimits } from './redis-stream-history.js';
import type { PublishResult, StreamHistoryOptions, StreamListener, StreamPosition, StreamPublication } from './stream-history.js';
import { StreamJoiner, type JoinTarget } from './stream-joiner.js';

/**
 * Two RedisConnections act as two gateway instances on the real Redis (127.0.0.1:6379). Every test
 * gets its own key prefix, so runs in other worktrees never collide.
 */
const URL = 'redis://127.0.0.1:6379';
const reading = (value: number): ReadingPayload => ({ sensorId: 's1', metric: 't', value, ts: 1_700_000_000_000 + value });

/** Retries `check` until it passes (100 x 50 ms): the live feed is asynchronous. */
async function eventually<T>(check: () => T | Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await check();
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

interface Instance {
  redis: RedisConnection;
  history: RedisStreamHistory;
  seen: StreamPublication[];
  resets: Array<[string, StreamPosition]>;
}

let run = 0;
let admin: RedisConnection;
const open: Instance[] = [];
let prefix = '';

beforeAll(async () => {
  admin = await RedisConnection.connect({ url: URL, keyPrefix: 'spec:unused:' });
});
afterAll(() => admin.close());

/** Deletes every key of the current prefix: what FLUSHDB does to this run's streams. */
async function flushPrefix(): Promise<void> {
  for await (const keys of admin.client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await admin.client.del(keys);
}

async function instance(options: StreamHistoryOptions, url: string, limits: RedisStreamHistoryLimits = {}): Promise<Instance> {
  const redis = await RedisConnection.connect({ url, keyPrefix: prefix });
  const history = new RedisStreamHistory(redis, options, { syncTimeoutMs: 3_000, ...limits });
  await history.start();
  const me: Instance = { redis, history, seen: [], resets: [] };
  const listener: StreamListener = { publication: (p) => me.seen.push(p), reset: (stream, position) => me.resets.push([stream, position]) };
  history.listen(listener);
  open.push(me);
  return me;
}

const offsets = (publications: StreamPublication[], stream: string) => publications.filter((p) => stream in p.positions).map((p) => p.positions[stream]);
/**
 * Counts the script calls `redis` makes from now on: each starts with one EVALSHA (an EVAL only
 * follows a NOSCRIPT answer). The real client underneath; only the count is added.
 */
function countScriptCalls(redis: RedisConnection): () => number {
  const client = redis.client as unknown as { evalSha: (...args: unknown[]) => Promise<unknown> };
  const original = client.evalSha.bind(client);
  let calls = 0;
  client.evalSha = (...args) => {
    calls += 1;
    return original(...args);
  };
  return () => calls;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('RedisStreamHistory (two instances on the real Redis)', () => {
  let a: Instance;
  let b: Instance;
  /** Between b and Redis: cutting it loses b's live messages, as a network failure does. */
  let proxy: TcpProxy | null = null;
  const both = async (options: StreamHistoryOptions = {}, { cuttable = false, limits = {} as RedisStreamHistoryLimits } = {}) => {
    prefix = `spec:streams:${process.pid}:${Date.now()}:${++run}:`;
    if (cuttable) proxy = await TcpProxy.start(6379);
    a = await instance(options, URL, limits);
    b = await instance(options, proxy ? `redis://${proxy.url}` : URL);
  };

  afterEach(async () => {
    for (const i of open.splice(0)) {
      await i.history.close();
      await i.redis.close();
    }
    await proxy?.close();
    proxy = null;
    await flushPrefix();
  });

  /** Cuts b off Redis while `meanwhile` runs, then lets it reconnect and resubscribe. */
  const cutB = async (meanwhile: () => Promise<void>) => {
    proxy!.drop();
    await meanwhile();
    proxy!.restore();
    await eventually(() => expect(b.redis.isReady).toBe(true));
    // Ready comes before the resubscription: wait until Redis counts both subscribers again.
    const channel = `${prefix}streams:pub`;
    await eventually(async () => expect(await admin.client.pubSubNumSub(channel)).toEqual({ [channel]: 2 }));
  };

  it('gives one publication the same positions on every instance, and the message reaches the other one', async () => {
    await both();
    const payload = reading(1);
    const result = await a.history.publish(['readings', 'sensor:s1'], 'reading:new', payload);
    expect(result.positions).toEqual({ readings: 1, 'sensor:s1': 1 });
    expect(await b.history.position('readings')).toEqual({ epoch: result.epoch.readings, offset: 1 });
    expect(await b.history.position('sensor:s1')).toEqual({ epoch: result.epoch['sensor:s1'], offset: 1 });
    await eventually(() => expect(b.seen).toHaveLength(1));
    for (const got of [b.seen[0]!, await eventually(() => a.seen[0]!)]) {
      expect(got.event).toBe('reading:new');
      expect(got.payload).toEqual(payload);
      expect(got.payloadJson).toBe(JSON.stringify(payload));
      expect({ positions: got.positions, epoch: got.epoch }).toEqual(result);
    }
  });

  it('keeps offsets strictly increasing without gaps under concurrent publishes from both, and both feeds deliver them in order', async () => {
    await both();
    const results = await Promise.all(
      range(1, 100).flatMap((i) => [
        a.history.publish(['readings', `sensor:a${i % 3}`], 'reading:new', reading(i)),
        b.history.publish(['readings'], 'reading:new', reading(1000 + i)),
      ]),
    );
    expect(results.map((r) => r.positions.readings).sort((x, y) => x! - y!)).toEqual(range(1, 200));
    expect(new Set(results.map((r) => r.epoch.readings)).size).toBe(1);
    for (const i of [a, b]) {
      await eventually(() => expect(i.seen).toHaveLength(200));
      expect(offsets(i.seen, 'readings')).toEqual(range(1, 200));
      expect(offsets(i.seen, 'sensor:a1')).toEqual(range(1, 34));
    }
    const history = await b.history.recover('readings', { epoch: results[0]!.epoch.readings!, offset: 150 });
    expect(history.recovered).toBe(true);
    expect(offsets(history.publications, 'readings')).toEqual(range(151, 200));
    // History holds what the live feed delivered, payload for payload.
    expect(history.publications.map((p) => p.payloadJson)).toEqual(a.seen.slice(150).map((p) => p.payloadJson));
  });

  it('sends the publications of one tick in one script call: per stream consecutive offsets in call order, delivered in that order everywhere', async () => {
    await both();
    await a.history.publish(['warm-up'], 'reading:new', reading(0)); // the script is loaded from here on
    const scriptCalls = countScriptCalls(a.redis);
    // Overlapping streams: a topic, a user room and sensors, in a mixed order.
    const plan = range(1, 30).map((i) => (i % 3 === 0 ? ['readings', `sensor:s${i % 2}`] : i % 3 === 1 ? ['user:u1'] : ['user:u1', 'readings']));
    const results = await Promise.all(plan.map((streams, i) => a.history.publish(streams, 'reading:new', reading(i + 1))));
    expect(scriptCalls()).toBe(1);
    for (const stream of ['readings', 'user:u1', 'sensor:s0', 'sensor:s1']) {
      const mine = results.filter((_, i) => plan[i]!.includes(stream));
      expect(mine.map((r) => r.positions[stream])).toEqual(range(1, plan.filter((streams) => streams.includes(stream)).length));
      expect(new Set(mine.map((r) => r.epoch[stream])).size).toBe(1);
    }
    for (const i of [a, b]) {
      await eventually(() => expect(i.seen).toHaveLength(31));
      const live = i.seen.slice(1);
      expect(live.map((p) => (p.payload as ReadingPayload).value)).toEqual(range(1, 30));
      expect(live.map((p) => ({ positions: p.positions, epoch: p.epoch }))).toEqual(results);
    }
    // History keeps each publication on its own, as the live feed delivered it.
    const { publications } = await b.history.latest('user:u1', 100);
    expect(publications.map((p) => p.payloadJson)).toEqual(a.seen.filter((p) => 'user:u1' in p.positions).map((p) => p.payloadJson));
  });

  it('splits a burst over its limits into several calls, in order, and sends a publication larger than the limit on its own', async () => {
    await both({}, { limits: { batchStreams: 5, batchChars: 1000 } });
    await a.history.publish(['warm-up'], 'reading:new', reading(0));
    const scriptCalls = countScriptCalls(a.redis);
    const small = await Promise.all(range(1, 12).map((i) => a.history.publish(['readings'], 'reading:new', reading(i))));
    expect(scriptCalls()).toBe(3); // 5 + 5 + 2 streams
    expect(small.map((r) => r.positions.readings)).toEqual(range(1, 12));
    const big = (n: number) => ({ amount: n, source: 'x'.repeat(600), totalXp: n });
    const large = await Promise.all(range(1, 3).map((i) => a.history.publish(['user:u1'], 'xp:gained', big(i))));
    expect(scriptCalls()).toBe(6); // 600 characters each: one per call
    expect(large.map((r) => r.positions['user:u1'])).toEqual([1, 2, 3]);
    await a.history.publish(['user:u1'], 'xp:gained', { amount: 4, source: 'y'.repeat(5000), totalXp: 4 });
    expect(scriptCalls()).toBe(7);
    await eventually(() => expect(b.seen).toHaveLength(17));
    expect(offsets(b.seen, 'readings')).toEqual(range(1, 12));
    expect(offsets(b.seen, 'user:u1')).toEqual([1, 2, 3, 4]);
  });

  it('rejects a publication at once while too many wait for Redis, and takes more once they are answered', async () => {
    await both({}, { limits: { maxUnansweredStreams: 3 } });
    const outcomes = Promise.allSettled([
      a.history.publish(['readings'], 'reading:new', reading(1)),
      a.history.publish(['readings', 'user:u1'], 'reading:new', reading(2)),
      a.history.publish(['readings'], 'reading:new', reading(3)),
      a.history.publish(['user:u1'], 'reading:new', reading(4)),
    ]);
    const [first, second, third, fourth] = await outcomes;
    expect((first as PromiseFulfilledResult<PublishResult>).value.positions).toEqual({ readings: 1 });
    expect((second as PromiseFulfilledResult<PublishResult>).value.positions).toEqual({ readings: 2, 'user:u1': 1 });
    for (const refused of [third, fourth]) expect(String((refused as PromiseRejectedResult).reason)).toMatch(/waiting for Redis/);
    expect((await a.history.publish(['readings', 'user:u1'], 'reading:new', reading(5))).positions).toEqual({ readings: 3, 'user:u1': 2 });
    await b.history.sync();
    expect(b.seen.map((p) => (p.payload as ReadingPayload).value)).toEqual([1, 2, 5]);
  });

  it('rejects every publication of a failed call, and the next call works', async () => {
    await both();
    // A meta key of the wrong type makes the script fail at its first command.
    await admin.client.set(`${prefix}streams:m:broken`, 'not a hash');
    const outcomes = await Promise.allSettled([
      a.history.publish(['broken'], 'reading:new', reading(1)),
      a.history.publish(['readings'], 'reading:new', reading(2)),
      a.history.publish(['readings', 'user:u1'], 'reading:new', reading(3)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const o of outcomes) expect(String((o as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect((await a.history.position('readings')).offset).toBe(0);
    expect((await a.history.publish(['readings'], 'reading:new', reading(4))).positions).toEqual({ readings: 1 });
    await b.history.sync();
    expect(b.seen.map((p) => (p.payload as ReadingPayload).value)).toEqual([4]);
  });

  it('sync() called after a publication puts its barrier after it on the channel, even when the barrier of its tick was asked for before', async () => {
    await both();
    // The channel as Redis orders it: a barrier must follow every publication made before its sync() call.
    const channel = `${prefix}streams:pub`;
    const order: string[] = [];
    const record = (message: string) => order.push(message.startsWith('~') ? 'barrier' : `publication ${parseStreamMessage(message)?.positions.readings}`);
    await admin.sub.subscribe(channel, record);
    try {
      const first = a.history.sync();
      void a.history.publish(['readings'], 'reading:new', reading(1));
      const second = a.history.sync();
      expect(second).toBe(first); // one barrier per tick
      await second;
      await eventually(() => expect(order).toEqual(['publication 1', 'barrier']));
      expect(offsets(a.seen, 'readings')).toEqual([1]);
    } finally {
      await admin.sub.unsubscribe(channel, record);
    }
  });

  it('recovers on the other instance exactly what was published after the position', async () => {
    await both();
    for (let i = 1; i <= 5; i++) await a.history.publish(['user:alice'], 'xp:gained', { amount: i, source: 'spec', totalXp: i });
    const { epoch } = await b.history.position('user:alice');
    const result = await b.history.recover('user:alice', { epoch, offset: 2 });
    expect(result.recovered).toBe(true);
    expect(result.publications.map((p) => p.payload)).toEqual([3, 4, 5].map((i) => ({ amount: i, source: 'spec', totalXp: i })));
    expect(result.position).toEqual({ epoch, offset: 5 });
    expect(await b.history.recover('user:alice', { epoch, offset: 5 })).toEqual({ recovered: true, publications: [], position: { epoch, offset: 5 } });
  });

  it('starts a stream first read empty at offset 0 with an epoch that its first publications keep', async () => {
    await both();
    const empty = await a.history.position('sensor:new');
    expect(empty.offset).toBe(0);
    await b.history.publish(['sensor:new'], 'reading:new', reading(1));
    const result = await a.history.recover('sensor:new', empty);
    expect(result.recovered).toBe(true);
    expect(offsets(result.publications, 'sensor:new')).toEqual([1]);
  });

  it('refuses recovery after an overflow of the history, and replays the last N oldest first', async () => {
    await both({ historySize: 5 });
    for (let i = 1; i <= 8; i++) await a.history.publish(['readings'], 'reading:new', reading(i));
    const { epoch } = await b.history.position('readings');
    expect(await b.history.recover('readings', { epoch, offset: 2 })).toEqual({ recovered: false, publications: [], position: { epoch, offset: 8 } });
    const edge = await b.history.recover('readings', { epoch, offset: 3 });
    expect(edge.recovered).toBe(true);
    expect(offsets(edge.publications, 'readings')).toEqual([4, 5, 6, 7, 8]);
    expect(offsets((await b.history.latest('readings', 3)).publications, 'readings')).toEqual([6, 7, 8]);
    expect(offsets((await b.history.latest('readings', 100)).publications, 'readings')).toEqual([4, 5, 6, 7, 8]);
  });

  it('starts a new epoch when Redis loses the keys (flush): recovery is refused and the live feed reports a reset', async () => {
    await both();
    for (let i = 1; i <= 3; i++) await a.history.publish(['readings'], 'reading:new', reading(i));
    const before = await a.history.position('readings');
    await eventually(() => expect(b.seen).toHaveLength(3));
    await flushPrefix();
    const after = await a.history.publish(['readings'], 'reading:new', reading(4));
    expect(after.positions.readings).toBe(1);
    expect(after.epoch.readings).not.toBe(before.epoch);
    expect(await b.history.recover('readings', before)).toEqual({ recovered: false, publications: [], position: { epoch: after.epoch.readings, offset: 1 } });
    await eventually(() => expect(b.seen).toHaveLength(4));
    expect(b.resets).toEqual([['readings', { epoch: after.epoch.readings, offset: 0 }]]);
    expect(b.seen[3]!.positions).toEqual({ readings: 1 });
  });

  it('keeps the history HISTORY_TTL and the position META_TTL in Redis', async () => {
    await both({ historyTtlSeconds: 600, metaTtlSeconds: 7200 });
    await a.history.publish(['readings'], 'reading:new', reading(1));
    await a.history.position('sensor:only-read');
    const ttl = (key: string) => admin.client.ttl(key);
    expect(await ttl(`${prefix}streams:h:readings`)).toBeGreaterThan(590);
    expect(await ttl(`${prefix}streams:h:readings`)).toBeLessThanOrEqual(600);
    expect(await ttl(`${prefix}streams:m:readings`)).toBeGreaterThan(7190);
    // A stream only read lives HISTORY_TTL unless something is published to it.
    expect(await ttl(`${prefix}streams:m:sensor:only-read`)).toBeLessThanOrEqual(600);
    expect(await admin.client.xLen(`${prefix}streams:h:readings`)).toBe(1);
  });

  it('fills a gap in the live feed (messages lost while its Redis subscriber was away) from history, in order', async () => {
    await both({}, { cuttable: true });
    await a.history.publish(['readings'], 'reading:new', reading(1));
    await eventually(() => expect(b.seen).toHaveLength(1));
    await cutB(async () => {
      for (let i = 2; i <= 6; i++) await a.history.publish(['readings', 'sensor:s1'], 'reading:new', reading(i));
    });
    // Lost for real: nothing of 2..6 reached b while it was away.
    expect(b.seen).toHaveLength(1);
    await a.history.publish(['readings'], 'reading:new', reading(7));
    await eventually(() => expect(b.seen).toHaveLength(7));
    expect(offsets(b.seen, 'readings')).toEqual(range(1, 7));
    expect(b.seen.map((p) => (p.payload as ReadingPayload).value)).toEqual(range(1, 7));
    // Again with batches: one lost whole, then one whose first publication reveals the gap.
    const burst = (from: number, to: number) =>
      Promise.all(range(from, to).map((i) => a.history.publish(['readings', 'sensor:s1'], 'reading:new', reading(i))));
    await cutB(async () => void (await burst(8, 10)));
    await burst(11, 13);
    await eventually(() => expect(b.seen).toHaveLength(13));
    expect(b.seen.map((p) => (p.payload as ReadingPayload).value)).toEqual(range(1, 13));
    expect(offsets(b.seen, 'sensor:s1')).toEqual(range(1, 11));
    expect(b.resets).toEqual([]);
  });

  it('reports a reset when the gap is larger than the history', async () => {
    await both({ historySize: 3 }, { cuttable: true });
    await a.history.publish(['readings'], 'reading:new', reading(1));
    await eventually(() => expect(b.seen).toHaveLength(1));
    await cutB(async () => {
      for (let i = 2; i <= 10; i++) await a.history.publish(['readings'], 'reading:new', reading(i));
    });
    await a.history.publish(['readings'], 'reading:new', reading(11));
    await eventually(() => expect(b.seen).toHaveLength(2));
    const { epoch } = await b.history.position('readings');
    expect(b.resets).toEqual([['readings', { epoch, offset: 10 }]]);
    expect(offsets(b.seen, 'readings')).toEqual([1, 11]);
  });

  it('sync() resolves once every earlier publication has come through the live feed', async () => {
    await both();
    await Promise.all(range(1, 50).map((i) => a.history.publish(['readings'], 'reading:new', reading(i))));
    await b.history.sync();
    expect(offsets(b.seen, 'readings')).toEqual(range(1, 50));
  });

  it('sync() rejects in time when the live feed is cut off', async () => {
    await both({}, { cuttable: true });
    proxy!.drop();
    await expect(b.history.sync()).rejects.toThrow(/did not answer in time|Could not reach/);
    proxy!.restore();
  });

  it('joins subscribers while another instance publishes, each getting every publication after its position exactly once, in order', async () => {
    await both();
    const joiner = new StreamJoiner(b.history);
    interface Sub extends JoinTarget {
      from: number;
      got: number[];
      attached: boolean;
    }
    const subs: Sub[] = [];
    // b's hub: live delivery to the attached subscribers.
    b.history.listen({
      publication: (p) => {
        for (const sub of subs) if (sub.attached) sub.got.push(p.positions.readings!);
      },
      reset: () => undefined,
    });
    const joins: Array<Promise<unknown>> = [];
    const startJoin = async () => {
      const since = await b.history.position('readings');
      const sub: Sub = {
        from: since.offset,
        got: [],
        attached: false,
        ready: () => undefined,
        deliver: (p) => sub.got.push(p.positions.readings!),
        attach: () => (sub.attached = true),
      };
      subs.push(sub);
      joins.push(joiner.join('readings', { since }, sub));
    };
    const TOTAL = 300;
    const publishing: Array<Promise<unknown>> = [];
    for (let i = 1; i <= TOTAL; i++) {
      publishing.push(a.history.publish(['readings'], 'reading:new', reading(i)));
      if (i % 15 === 0) {
        await Promise.all(publishing.splice(0));
        void startJoin();
      }
    }
    await Promise.all(publishing);
    await eventually(() => expect(subs).toHaveLength(TOTAL / 15));
    await Promise.all(joins);
    await b.history.sync();
    for (const sub of subs) expect(sub.got).toEqual(range(sub.from + 1, TOTAL));
    expect(joiner.joining).toBe(0);
    joiner.close();
  });

  it('drops malformed messages and foreign barriers on the channel and keeps delivering', async () => {
    await both();
    const channel = `${prefix}streams:pub`;
    for (const junk of ['garbage', '{"ev":1}\n{}', '{not json\n1', '~someone-else:1', '', '*', '*junk\n{}\nmore']) await admin.client.publish(channel, junk);
    await a.history.publish(['readings'], 'reading:new', reading(1));
    await b.history.sync();
    expect(offsets(b.seen, 'readings')).toEqual([1]);
    expect(parseStreamMessage('{"ev":"reading:new","t":1,"s":{"a":1},"e":{"a":"x"}}\n{"value":2}')?.payload).toEqual({ value: 2 });
    expect(splitBatch('*{"h":1}\n{"p":1}\n{"h":2}\n{"p":2}')).toEqual(['{"h":1}\n{"p":1}', '{"h":2}\n{"p":2}']);
    expect(splitBatch('{"h":1}\n{"p":1}')).toEqual(['{"h":1}\n{"p":1}']);
  });

  it('refuses bad stream names, bad counts and malformed positions before touching Redis', async () => {
    await both();
    await expect(a.history.publish([], 'reading:new', reading(1))).rejects.toThrow(/at least one stream/);
    await expect(a.history.publish(['a\r\nb'], 'reading:new', reading(1))).rejects.toThrow(/Invalid stream name/);
    await expect(a.history.latest('readings', 0)).rejects.toThrow(/positive integer/);
    const { epoch } = await a.history.position('readings');
    expect(await a.history.recover('readings', { epoch, offset: -3 })).toEqual({ recovered: false, publications: [], position: { epoch, offset: 0 } });
    let keys = 0;
    for await (const found of admin.client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys += found.length;
    expect(keys).toBe(1); // the meta of 'readings', read above
  });

  it('reloads its scripts after a SCRIPT FLUSH', async () => {
    await both();
    await a.history.publish(['readings'], 'reading:new', reading(1));
    await admin.client.scriptFlush();
    expect((await a.history.publish(['readings'], 'reading:new', reading(2))).positions.readings).toBe(2);
    expect((await b.history.latest('readings', 2)).publications.map((p) => p.positions.readings)).toEqual([1, 2]);
  });
});
