import { afterEach, describe, expect, it } from '@jest/globals';
import type { ReadingPayload } from '#contracts';
import { InMemoryStreamHistory } from './in-memory-stream-history.js';
import type { StreamHistoryOptions, StreamPublication } from './stream-history.js';

const reading = (value: number): ReadingPayload => ({ sensorId: 's1', metric: 't', value, ts: 1_700_000_000_000 + value });
const offsets = (publications: StreamPublication[], stream: string) => publications.map((p) => p.positions[stream]);
const values = (publications: StreamPublication[]) => publications.map((p) => (p.payload as ReadingPayload).value);

describe('InMemoryStreamHistory', () => {
  let clock = 1_000_000;
  let sut: InMemoryStreamHistory;
  const create = (options: StreamHistoryOptions = {}) => {
    clock = 1_000_000;
    sut = new InMemoryStreamHistory(options, () => clock, { sweepIntervalMs: null });
    return sut;
  };
  const publishMany = async (count: number, streams = ['readings']) => {
    for (let i = 1; i <= count; i++) await sut.publish(streams, 'reading:new', reading(i));
  };
  afterEach(() => sut.close());

  it('gives every stream of a publication its next offset, starting at 1, with one epoch per stream', async () => {
    create();
    const first = await sut.publish(['readings', 'sensor:s1'], 'reading:new', reading(1));
    const second = await sut.publish(['readings'], 'reading:new', reading(2));
    const third = await sut.publish(['sensor:s1', 'readings'], 'reading:new', reading(3));
    expect(first.positions).toEqual({ readings: 1, 'sensor:s1': 1 });
    expect(second.positions).toEqual({ readings: 2 });
    expect(third.positions).toEqual({ 'sensor:s1': 2, readings: 3 });
    expect(third.epoch.readings).toBe(first.epoch.readings);
    expect(first.epoch.readings).not.toBe(first.epoch['sensor:s1']);
    expect(await sut.position('readings')).toEqual({ epoch: first.epoch.readings, offset: 3 });
    expect(await sut.position('sensor:s1')).toEqual({ epoch: first.epoch['sensor:s1'], offset: 2 });
  });

  it('recovers publications to several streams with their offset and epoch in each, also across an epoch change', async () => {
    create({ maxStreams: 2, maxStreamsPerPublication: 2 });
    const first = await sut.publish(['readings', 'sensor:s1'], 'reading:new', reading(1));
    const second = await sut.publish(['readings', 'sensor:s1'], 'reading:new', reading(2));
    expect(second).toEqual({ positions: { readings: 2, 'sensor:s1': 2 }, epoch: first.epoch });
    await sut.publish(['sensor:s1'], 'reading:new', reading(3));
    // A third stream pushes `readings` out (least recently published): it comes back with a new epoch.
    await sut.publish(['general'], 'reading:new', reading(4));
    const third = await sut.publish(['readings', 'sensor:s1'], 'reading:new', reading(5));
    const readingsNow = (await sut.position('readings')).epoch;
    expect(readingsNow).not.toBe(first.epoch.readings);
    expect(third).toEqual({ positions: { readings: 1, 'sensor:s1': 4 }, epoch: { readings: readingsNow, 'sensor:s1': first.epoch['sensor:s1'] } });
    const { publications } = await sut.recover('sensor:s1', { epoch: first.epoch['sensor:s1']!, offset: 0 });
    expect(publications.map((p) => ({ positions: p.positions, epoch: p.epoch, value: (p.payload as ReadingPayload).value }))).toEqual([
      { ...first, value: 1 },
      { ...second, value: 2 },
      { positions: { 'sensor:s1': 3 }, epoch: { 'sensor:s1': first.epoch['sensor:s1'] }, value: 3 },
      { ...third, value: 5 },
    ]);
    expect(publications.map((p) => p.event)).toEqual(['reading:new', 'reading:new', 'reading:new', 'reading:new']);
  });

  it('recovers a publication to more than two streams from each of them, with every offset, epoch and its time', async () => {
    create();
    await sut.publish(['user:c'], 'reading:new', reading(1));
    clock += 1234;
    const sent = await sut.publish(['user:a', 'user:b', 'user:c', 'user:d'], 'reading:new', reading(2));
    expect(sent.positions).toEqual({ 'user:a': 1, 'user:b': 1, 'user:c': 2, 'user:d': 1 });
    for (const stream of ['user:a', 'user:b', 'user:c', 'user:d']) {
      const { publications } = await sut.latest(stream, 1);
      expect(publications.map((p) => ({ positions: p.positions, epoch: p.epoch, ts: p.ts }))).toEqual([{ ...sent, ts: 1_001_234 }]);
    }
    // A run of publications to the same streams shares one epoch record when read; another run gets its own.
    await sut.publish(['user:a', 'user:b', 'user:c', 'user:d'], 'reading:new', reading(3));
    await sut.publish(['user:a', 'user:b', 'user:c', 'user:e'], 'reading:new', reading(4));
    await sut.publish(['user:a', 'user:b', 'user:c'], 'reading:new', reading(5));
    await sut.publish(['user:a', 'user:b'], 'reading:new', reading(6));
    await sut.publish(['user:a'], 'reading:new', reading(7));
    const { publications } = await sut.latest('user:a', 6);
    expect(publications.map((p) => Object.keys(p.epoch))).toEqual([
      ['user:a', 'user:b', 'user:c', 'user:d'],
      ['user:a', 'user:b', 'user:c', 'user:d'],
      ['user:a', 'user:b', 'user:c', 'user:e'],
      ['user:a', 'user:b', 'user:c'],
      ['user:a', 'user:b'],
      ['user:a'],
    ]);
    expect(publications.map((p) => p.positions)).toEqual([
      { 'user:a': 1, 'user:b': 1, 'user:c': 2, 'user:d': 1 },
      { 'user:a': 2, 'user:b': 2, 'user:c': 3, 'user:d': 2 },
      { 'user:a': 3, 'user:b': 3, 'user:c': 4, 'user:e': 1 },
      { 'user:a': 4, 'user:b': 4, 'user:c': 5 },
      { 'user:a': 5, 'user:b': 5 },
      { 'user:a': 6 },
    ]);
    expect(publications[1]!.epoch).toBe(publications[0]!.epoch);
    expect(publications[2]!.epoch['user:e']).toBe((await sut.position('user:e')).epoch);
  });

  it('counts a stream named twice in one publication once', async () => {
    create();
    expect((await sut.publish(['readings', 'readings'], 'reading:new', reading(1))).positions).toEqual({ readings: 1 });
    expect((await sut.position('readings')).offset).toBe(1);
  });

  it('hands every publication to the listeners once, synchronously, with its positions and the very payload', async () => {
    create();
    const seen: StreamPublication[] = [];
    const stop = sut.listen({ publication: (p) => seen.push(p), reset: () => undefined });
    const payload = reading(7);
    const result = await sut.publish(['readings', 'sensor:s1'], 'reading:new', payload);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.event).toBe('reading:new');
    expect(seen[0]!.payload).toBe(payload);
    expect(seen[0]!.payloadJson).toBe(JSON.stringify(payload));
    expect({ positions: seen[0]!.positions, epoch: seen[0]!.epoch }).toEqual(result);
    expect(seen[0]!.metaFor(['sensor:s1', 'general'])).toEqual({ positions: { 'sensor:s1': 1 }, epoch: { 'sensor:s1': result.epoch['sensor:s1'] } });
    stop();
    await sut.publish(['readings'], 'reading:new', reading(8));
    expect(seen).toHaveLength(1);
  });

  it('keeps publishing when a listener throws, and the other listeners still get it', async () => {
    create();
    const got: number[] = [];
    sut.listen({
      publication: () => {
        throw new Error('boom');
      },
      reset: () => undefined,
    });
    sut.listen({ publication: (p) => got.push(p.positions.readings!), reset: () => undefined });
    await publishMany(2);
    expect(got).toEqual([1, 2]);
  });

  it('recovers every publication after the position, in order, exactly once', async () => {
    create();
    await publishMany(10);
    const { epoch } = await sut.position('readings');
    const result = await sut.recover('readings', { epoch, offset: 4 });
    expect(result.recovered).toBe(true);
    expect(offsets(result.publications, 'readings')).toEqual([5, 6, 7, 8, 9, 10]);
    expect(values(result.publications)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(result.position).toEqual({ epoch, offset: 10 });
  });

  it('recovers with nothing to replay when the client is up to date', async () => {
    create();
    await publishMany(3);
    const position = await sut.position('readings');
    expect(await sut.recover('readings', position)).toEqual({ recovered: true, publications: [], position });
  });

  it('recovers from offset 0 of a stream first seen empty, so its first publications are not lost', async () => {
    create();
    const empty = await sut.position('sensor:new');
    expect(empty.offset).toBe(0);
    await publishMany(2, ['sensor:new']);
    const result = await sut.recover('sensor:new', empty);
    expect(result.recovered).toBe(true);
    expect(offsets(result.publications, 'sensor:new')).toEqual([1, 2]);
  });

  it('refuses recovery when the history no longer covers the gap (overflow)', async () => {
    create({ historySize: 5 });
    await publishMany(12);
    const { epoch } = await sut.position('readings');
    expect(await sut.recover('readings', { epoch, offset: 6 })).toEqual({ recovered: false, publications: [], position: { epoch, offset: 12 } });
    const edge = await sut.recover('readings', { epoch, offset: 7 });
    expect(edge.recovered).toBe(true);
    expect(offsets(edge.publications, 'readings')).toEqual([8, 9, 10, 11, 12]);
  });

  it('refuses recovery when the epoch changed: another process (a restart) has other epochs', async () => {
    create();
    await publishMany(3);
    const before = await sut.position('readings');
    const restarted = new InMemoryStreamHistory({}, () => clock, { sweepIntervalMs: null });
    await restarted.publish(['readings'], 'reading:new', reading(1));
    await restarted.publish(['readings'], 'reading:new', reading(2));
    await restarted.publish(['readings'], 'reading:new', reading(3));
    await restarted.publish(['readings'], 'reading:new', reading(4));
    const after = await restarted.position('readings');
    expect(after.epoch).not.toBe(before.epoch);
    // Same offset range, other epoch: nothing is replayed.
    expect(await restarted.recover('readings', { epoch: before.epoch, offset: 2 })).toEqual({ recovered: false, publications: [], position: after });
    await restarted.close();
  });

  it('refuses a position from the future and malformed positions, without throwing', async () => {
    create();
    await publishMany(2);
    const { epoch } = await sut.position('readings');
    for (const since of [{ epoch, offset: 3 }, { epoch, offset: -1 }, { epoch, offset: 1.5 }, { epoch: '', offset: 1 }, { offset: 1 }, null, 'x']) {
      const result = await sut.recover('readings', since as never);
      expect(result).toEqual({ recovered: false, publications: [], position: { epoch, offset: 2 } });
    }
  });

  it('gives the last N publications oldest first, fewer when fewer exist', async () => {
    create({ historySize: 5 });
    await publishMany(8);
    expect(offsets((await sut.latest('readings', 3)).publications, 'readings')).toEqual([6, 7, 8]);
    expect(offsets((await sut.latest('readings', 100)).publications, 'readings')).toEqual([4, 5, 6, 7, 8]);
    expect((await sut.latest('sensor:quiet', 1)).publications).toEqual([]);
  });

  it('drops the history HISTORY_TTL after the last publication but keeps the position, so up-to-date clients still recover', async () => {
    create({ historyTtlSeconds: 600, metaTtlSeconds: 3600 });
    await publishMany(3);
    const position = await sut.position('readings');
    clock += 599_000;
    expect((await sut.recover('readings', { ...position, offset: 1 })).recovered).toBe(true);
    clock += 2_000;
    expect(await sut.recover('readings', { ...position, offset: 1 })).toEqual({ recovered: false, publications: [], position });
    expect(await sut.recover('readings', position)).toEqual({ recovered: true, publications: [], position });
    expect((await sut.latest('readings', 5)).publications).toEqual([]);
    // Publishing continues the same epoch and offsets.
    expect((await sut.publish(['readings'], 'reading:new', reading(4))).positions.readings).toBe(4);
    expect((await sut.position('readings')).epoch).toBe(position.epoch);
  });

  it('forgets a stream META_TTL after its last publication: it comes back with a new epoch', async () => {
    create({ historyTtlSeconds: 600, metaTtlSeconds: 3600 });
    await publishMany(3);
    const before = await sut.position('readings');
    clock += 3_601_000;
    const after = await sut.position('readings');
    expect(after.offset).toBe(0);
    expect(after.epoch).not.toBe(before.epoch);
    expect((await sut.recover('readings', before)).recovered).toBe(false);
  });

  it('forgets a stream only read (never published to) after HISTORY_TTL', async () => {
    create({ historyTtlSeconds: 600, metaTtlSeconds: 3600 });
    const seen = await sut.position('sensor:quiet');
    clock += 599_000;
    expect(await sut.position('sensor:quiet')).toEqual(seen);
    clock += 2_000;
    expect((await sut.position('sensor:quiet')).epoch).not.toBe(seen.epoch);
  });

  it('sweeps expired histories and streams, freeing their memory', async () => {
    create({ historyTtlSeconds: 600, metaTtlSeconds: 3600 });
    await publishMany(3);
    for (let i = 0; i < 5; i++) await sut.position(`sensor:probe-${i}`);
    expect(sut.streamCount).toBe(6);
    clock += 601_000;
    sut.sweep();
    expect(sut.streamCount).toBe(1);
    expect((await sut.latest('readings', 10)).publications).toEqual([]);
    clock += 3_000_000;
    sut.sweep();
    expect(sut.streamCount).toBe(0);
  });

  it('bounds the streams only read: names from outside cannot grow memory nor push out a stream with history', async () => {
    create({ maxStreams: 3, maxStreamsPerPublication: 2 });
    await publishMany(2);
    const readings = await sut.position('readings');
    const first = await sut.position('sensor:attacker-0');
    for (let i = 1; i < 100; i++) await sut.position(`sensor:attacker-${i}`);
    expect(sut.streamCount).toBe(1 + 3);
    expect(await sut.position('readings')).toEqual(readings);
    expect((await sut.recover('readings', { ...readings, offset: 0 })).recovered).toBe(true);
    // The oldest probe was evicted: its name comes back with a new epoch.
    expect((await sut.position('sensor:attacker-0')).epoch).not.toBe(first.epoch);
  });

  it('bounds the streams published to, forgetting the least recently published (new epoch, recovered: false)', async () => {
    create({ maxStreams: 3, maxStreamsPerPublication: 2 });
    await publishMany(2);
    const readings = await sut.position('readings');
    for (let i = 0; i < 100; i++) await sut.publish([`sensor:s${i}`], 'reading:new', reading(i));
    expect(sut.streamCount).toBe(3);
    const now = await sut.position('readings');
    expect(now.epoch).not.toBe(readings.epoch);
    expect((await sut.recover('readings', readings)).recovered).toBe(false);
  });

  it('moves a stream first read into the published ones on its first publication, keeping its epoch', async () => {
    create({ maxStreams: 2, maxStreamsPerPublication: 1 });
    const seen = await sut.position('sensor:a');
    await sut.publish(['sensor:a'], 'reading:new', reading(1));
    for (let i = 0; i < 10; i++) await sut.position(`sensor:probe-${i}`);
    expect(await sut.position('sensor:a')).toEqual({ epoch: seen.epoch, offset: 1 });
    expect(sut.streamCount).toBe(1 + 2);
  });

  it('keeps the eviction order when streams expire in between, and follows the last publication of each stream', async () => {
    create({ maxStreams: 3, maxStreamsPerPublication: 1, historyTtlSeconds: 10, metaTtlSeconds: 100 });
    await sut.publish(['b'], 'reading:new', reading(1));
    clock += 50_000;
    const epochs: Record<string, string> = {};
    for (const stream of ['a', 'c']) epochs[stream] = (await sut.publish([stream], 'reading:new', reading(2))).epoch[stream]!;
    clock += 50_000;
    sut.sweep();
    expect(sut.streamCount).toBe(2);
    epochs['d'] = (await sut.publish(['d'], 'reading:new', reading(3))).epoch['d']!;
    await sut.publish(['a'], 'reading:new', reading(4));
    epochs['e'] = (await sut.publish(['e'], 'reading:new', reading(5))).epoch['e']!;
    // c is the least recently published now (a was published again): it goes, the others keep their epochs.
    expect(sut.streamCount).toBe(3);
    for (const stream of ['a', 'd', 'e']) expect((await sut.position(stream)).epoch).toBe(epochs[stream]);
    expect((await sut.position('c')).epoch).not.toBe(epochs['c']);
  });

  it('evicts the least recently published stream first', async () => {
    create({ maxStreams: 2, maxStreamsPerPublication: 2 });
    await sut.publish(['a'], 'reading:new', reading(1));
    await sut.publish(['b'], 'reading:new', reading(2));
    const a = await sut.position('a');
    await sut.publish(['a'], 'reading:new', reading(3));
    await sut.publish(['c'], 'reading:new', reading(4));
    expect(await sut.position('a')).toEqual({ epoch: a.epoch, offset: 2 });
    expect((await sut.position('b')).offset).toBe(0);
  });

  it('refuses bad stream names, empty or oversized publications and bad counts with a clear error, changing nothing', async () => {
    create({ maxStreams: 10, maxStreamsPerPublication: 2 });
    const seen: unknown[] = [];
    sut.listen({ publication: (p) => seen.push(p), reset: () => undefined });
    for (const bad of ['', 'x'.repeat(257), 'a\nb', '__proto__']) {
      await expect(sut.publish([bad], 'reading:new', reading(1))).rejects.toThrow(/Invalid stream name/);
      await expect(sut.position(bad)).rejects.toThrow(/Invalid stream name/);
    }
    await expect(sut.publish([], 'reading:new', reading(1))).rejects.toThrow(/at least one stream/);
    await expect(sut.publish(['a', 'b', 'c'], 'reading:new', reading(1))).rejects.toThrow(/at most 2 streams/);
    await expect(sut.publish(['a', 'x'.repeat(300)], 'reading:new', reading(1))).rejects.toThrow(/Invalid stream name/);
    for (const n of [0, -1, 1.5, Number.NaN]) await expect(sut.latest('a', n)).rejects.toThrow(/positive integer/);
    expect(seen).toEqual([]);
    expect(sut.streamCount).toBe(0);
  });

  it('refuses bad options at construction', () => {
    const make = (options: StreamHistoryOptions) => () => new InMemoryStreamHistory(options, Date.now, { sweepIntervalMs: null });
    expect(make({ historySize: 0 })).toThrow(/historySize must be a positive integer/);
    expect(make({ historyTtlSeconds: 1.5 })).toThrow(/historyTtlSeconds must be a positive integer/);
    expect(make({ historyTtlSeconds: 600, metaTtlSeconds: 60 })).toThrow(/at least historyTtlSeconds/);
    expect(make({ maxStreams: 5, maxStreamsPerPublication: 6 })).toThrow(/must not exceed maxStreams/);
  });
});
