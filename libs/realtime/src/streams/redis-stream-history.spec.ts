import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReadingPayload } from '#contracts';
import { RedisConnection } from '#redis';
import { TcpProxy } from '../../../../test/support/tcp-proxy.js';
import { parseStreamMessage, RedisStreamHistory } from './redis-stream-history.js';
import type { StreamHistoryOptions, StreamListener, StreamPosition, StreamPublication } from './stream-history.js';
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

async function instance(options: StreamHistoryOptions, url: string): Promise<Instance> {
  const redis = await RedisConnection.connect({ url, keyPrefix: prefix });
  const history = new RedisStreamHistory(redis, options, 3_000);
  await history.start();
  const me: Instance = { redis, history, seen: [], resets: [] };
  const listener: StreamListener = { publication: (p) => me.seen.push(p), reset: (stream, position) => me.resets.push([stream, position]) };
  history.listen(listener);
  open.push(me);
  return me;
}

const offsets = (publications: StreamPublication[], stream: string) => publications.filter((p) => stream in p.positions).map((p) => p.positions[stream]);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('RedisStreamHistory (two instances on the real Redis)', () => {
  let a: Instance;
  let b: Instance;
  /** Between b and Redis: cutting it loses b's live messages, as a network failure does. */
  let proxy: TcpProxy | null = null;
  const both = async (options: StreamHistoryOptions = {}, { cuttable = false } = {}) => {
    prefix = `spec:streams:${process.pid}:${Date.now()}:${++run}:`;
    if (cuttable) proxy = await TcpProxy.start(6379);
    a = await instance(options, URL);
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
    for (const junk of ['garbage', '{"ev":1}\n{}', '{not json\n1', '~someone-else:1', '']) await admin.client.publish(channel, junk);
    await a.history.publish(['readings'], 'reading:new', reading(1));
    await b.history.sync();
    expect(offsets(b.seen, 'readings')).toEqual([1]);
    expect(parseStreamMessage('{"ev":"reading:new","t":1,"s":{"a":1},"e":{"a":"x"}}\n{"value":2}')?.payload).toEqual({ value: 2 });
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
