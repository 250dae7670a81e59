import { afterEach, describe, expect, it } from '@jest/globals';
import { MetricsService } from '#observability';
import { ReadingBatcher } from '../batching/reading-batcher.js';
import { resolveRealtimeOptions, type ClusterOptions } from '../realtime.options.js';
import { InMemoryStreamHistory } from '../streams/in-memory-stream-history.js';
import type { StreamPublication } from '../streams/stream-history.js';
import { HubError, MAX_TOPICS_PER_SOCKET, SubscriptionHub } from './subscription-hub.service.js';
import type { DeliveryGroup, HubTransport, Subscriber } from './subscriber.js';

/** A transport that records what the hub hands it: one entry per group, with its members. */
class RecordingTransport implements HubTransport {
  readonly protocol = 'test';
  readonly groups: { event: string; streams: readonly string[]; members: string[]; room?: DeliveryGroup['room'] }[] = [];
  readonly resets: [string, readonly string[]][] = [];

  deliver(publication: StreamPublication, group: DeliveryGroup): void {
    this.groups.push({
      event: publication.event,
      streams: group.streams,
      members: [...group.members].map((m) => m.id),
      ...(group.room ? { room: group.room } : {}),
    });
  }

  reset(subscriber: Subscriber, streams: readonly string[]): void {
    this.resets.push([subscriber.id, streams]);
  }

  /** What `id` got, as (event, meta streams) pairs. */
  of(id: string): [string, string[]][] {
    return this.groups.filter((g) => g.members.includes(id)).map((g) => [g.event, [...g.streams]]);
  }
}

const hubs: SubscriptionHub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.onApplicationShutdown();
});

/** `redis.up = false` plays a Redis outage: the cluster reports not ready and history reads fail, as queued commands would hang. */
function setup(redis?: { up: boolean }) {
  const history = new InMemoryStreamHistory({}, Date.now, { sweepIntervalMs: null });
  const options = resolveRealtimeOptions({});
  if (redis) {
    // Only `isReady` is read by the hub; the history here is in memory.
    options.cluster = { isReady: () => redis.up } as ClusterOptions;
    const read = history.position.bind(history);
    history.position = (stream) => (redis.up ? read(stream) : Promise.reject(new Error('Redis is away')));
  }
  const hub = new SubscriptionHub(history, new ReadingBatcher(), new MetricsService(), options);
  hubs.push(hub);
  const transport = new RecordingTransport();
  const add = (id: string, role: 'user' | 'admin' = 'user') => {
    hub.register({ id, transport, identity: { userId: id, role, expiresAt: null } });
    return id;
  };
  const noAck = () => undefined;
  return { hub, history, transport, add, noAck };
}

describe('SubscriptionHub', () => {
  it('delivers a publication to several streams once per subscriber, with meta naming only the streams it holds', async () => {
    const { hub, transport, add, noAck } = setup();
    const [both, readings, sensor] = [add('both'), add('readings-only'), add('sensor-only')];
    for (const [id, topics] of [
      [both, ['readings', 'sensor:x']],
      [readings, ['readings']],
      [sensor, ['sensor:x']],
    ] as const) {
      for (const topic of topics) await hub.subscribe(id, topic, {}, noAck);
    }
    hub.publish(['readings', 'sensor:x'], 'reading:new', { sensorId: 'x', metric: 'm', value: 1, ts: 1 });
    expect(transport.of(both)).toEqual([['reading:new', ['readings', 'sensor:x']]]);
    expect(transport.of(readings)).toEqual([['reading:new', ['readings']]]);
    expect(transport.of(sensor)).toEqual([['reading:new', ['sensor:x']]]);
    // The single-stream groups say which room they are, minus the overlap, so Socket.IO can emit to rooms.
    expect(transport.groups.filter((g) => g.room).map((g) => g.room)).toEqual(
      expect.arrayContaining([
        { stream: 'readings', except: ['sensor:x'] },
        { stream: 'sensor:x', except: ['readings'] },
      ]),
    );
  });

  it('keeps user rooms apart: a publication to many users is one group per room', async () => {
    const { hub, transport, add, noAck } = setup();
    const users = ['a', 'b', 'c'].map((id) => add(id));
    for (const id of users) await hub.joinUserStream(id, {}, noAck);
    hub.publish(
      users.map((id) => `user:${id}`),
      'rank:updated',
      { oldRank: 1, newRank: 2 },
    );
    expect(transport.groups.map((g) => [g.streams, g.members])).toEqual(users.map((id) => [[`user:${id}`], [id]]));
  });

  it('sends the ack before the replayed publications, and skips what the subscriber got through another stream', async () => {
    const { hub, transport, add, noAck } = setup();
    const id = add('replayer');
    await hub.subscribe(id, 'readings', {}, noAck);
    for (let i = 0; i < 3; i++) hub.publish(['readings', 'sensor:y'], 'reading:new', { sensorId: 'y', metric: 'm', value: i, ts: i });
    const order: string[] = [];
    const before = transport.groups.length;
    await hub.subscribe(id, 'sensor:y', { replay: 3 }, (ack) => order.push(`ack ${ack.offset}`));
    // All three came through `readings` already: nothing is replayed twice.
    expect(order).toEqual(['ack 3']);
    expect(transport.groups.length).toBe(before);
    hub.publish(['readings', 'sensor:y'], 'reading:new', { sensorId: 'y', metric: 'm', value: 3, ts: 3 });
    expect(transport.of(id).at(-1)).toEqual(['reading:new', ['readings', 'sensor:y']]);
  });

  it('replays to the subscribers that resume a stream from the same position together as one group per publication; one that leaves gets nothing more', async () => {
    const { hub, history, transport, add } = setup();
    const ids = ['r1', 'r2', 'r3'].map((id) => add(id));
    for (let i = 0; i < 3; i++) hub.publish(['readings'], 'reading:new', { sensorId: 'z', metric: 'm', value: i, ts: i });
    const since = { epoch: (await history.position('readings')).epoch, offset: 0 };
    await new Promise((resolve) => setImmediate(resolve));
    // r3 leaves once it got the first replayed publication.
    const deliver = transport.deliver.bind(transport);
    transport.deliver = (p, group) => {
      deliver(p, group);
      if (transport.groups.length === 1) hub.unregister('r3');
    };
    const acks: string[] = [];
    await Promise.all(ids.map((id) => hub.subscribe(id, 'readings', { since }, (ack) => acks.push(`${id} ${ack.recovered}`)).catch(() => undefined)));
    expect(acks.sort()).toEqual(['r1 true', 'r2 true', 'r3 true']);
    expect(transport.groups.map((g) => [g.members, g.streams])).toEqual([
      [ids, ['readings']],
      [['r1', 'r2'], ['readings']],
      [['r1', 'r2'], ['readings']],
    ]);
    hub.publish(['readings'], 'reading:new', { sensorId: 'z', metric: 'm', value: 3, ts: 3 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(transport.groups.at(-1)).toMatchObject({ members: ['r1', 'r2'], room: { stream: 'readings', except: [] } });
    expect(hub.topicSubscribers().get('readings')).toBe(2);
  });

  it('refuses by ACL and by the per-connection limit, holding nothing for a refusal', async () => {
    const { hub, add, noAck } = setup();
    const id = add('limited');
    await expect(hub.subscribe(id, 'system', {}, noAck)).rejects.toBeInstanceOf(HubError);
    await expect(hub.subscribe(id, 'user:someone', {}, noAck)).rejects.toMatchObject({ body: { code: 'FORBIDDEN' } });
    await expect(hub.subscribe(id, 'weather', {}, noAck)).rejects.toMatchObject({ body: { code: 'UNKNOWN_TOPIC' } });
    await Promise.all(Array.from({ length: MAX_TOPICS_PER_SOCKET }, (_, i) => hub.subscribe(id, `sensor:s-${i}`, {}, noAck)));
    await expect(hub.subscribe(id, 'sensor:one-more', {}, noAck)).rejects.toMatchObject({ body: { code: 'TOO_MANY_TOPICS' } });
    await hub.subscribe(id, 'sensor:s-0', {}, noAck); // a held topic may be re-subscribed
    expect(hub.streamsOf(id)).toHaveLength(MAX_TOPICS_PER_SOCKET);
    expect(hub.topicSubscribers().get('sensor:one-more')).toBeUndefined();
  });

  it('attaches nothing for a subscriber that leaves while it joins, and frees everything on unregister', async () => {
    const { hub, add, noAck } = setup();
    const id = add('leaver');
    const joining = hub.subscribe(id, 'readings', {}, noAck);
    hub.unregister(id);
    await joining.catch(() => undefined);
    expect(hub.topicSubscribers().size).toBe(0);
    const other = add('stayer');
    await hub.subscribe(other, 'readings', {}, noAck);
    hub.unregister(other);
    expect(hub.topicSubscribers().size).toBe(0);
  });

  it('drops topics a lower role may no longer hold after revalidate, and tells holders of a reset stream', async () => {
    const { hub, transport, noAck } = setup();
    const subscriber: Subscriber = { id: 'admin-1', transport, identity: { userId: 'admin-1', role: 'admin', expiresAt: null } };
    hub.register(subscriber);
    await hub.subscribe('admin-1', 'system', {}, noAck);
    await hub.subscribe('admin-1', 'general', {}, noAck);
    subscriber.identity = { ...subscriber.identity, role: 'user' };
    hub.revalidate('admin-1');
    expect(hub.streamsOf('admin-1')).toEqual(['general']);
    hub.reset('general', { epoch: 'new-epoch', offset: 7 });
    expect(transport.resets).toEqual([['admin-1', ['general']]]);
  });

  it('answers a subscribe during a Redis outage at once, without a position, for a new topic and for one already held', async () => {
    const redis = { up: true };
    const { hub, add, noAck } = setup(redis);
    const id = add('through-outage');
    expect(await hub.subscribe(id, 'general', {}, noAck)).toMatchObject({ topic: 'general', offset: 0, recovered: false });
    redis.up = false;
    expect(await hub.subscribe(id, 'general', {}, noAck)).toEqual({ topic: 'general', recovered: false });
    expect(await hub.subscribe(id, 'readings', {}, noAck)).toEqual({ topic: 'readings', recovered: false });
    expect(hub.streamsOf(id).sort()).toEqual(['general', 'readings']);
  });
});
