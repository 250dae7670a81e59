import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ErrorCode, ERROR_MESSAGES, userRoom, type ErrorBody, type ServerEventName, type ServerEventPayloads } from '#contracts';
import { MetricsService } from '#observability';
import { ReadingBatcher } from '../batching/reading-batcher.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime.options.js';
import { JoinError, StreamJoiner, type JoinRequest, type JoinTarget } from '../streams/stream-joiner.js';
import { StreamPublication, type StreamHistory, type StreamListener, type StreamPosition } from '../streams/stream-history.js';
import { authorizeTopic } from '../topics/topic-acl.js';
import type { DeliveryGroup, HoldOptions, HubTransport, Subscriber } from './subscriber.js';

/** The stream history of this deployment: in memory (single instance) or in Redis (cluster). */
export const STREAM_HISTORY = Symbol('STREAM_HISTORY');

/** Bounds what one connection can make the server hold (topics, not counting its user stream). */
export const MAX_TOPICS_PER_SOCKET = 256;

/** A refusal with the contract's code and fixed message; transports turn it into their error reply. */
export class HubError extends Error {
  constructor(readonly body: ErrorBody) {
    super(body.message);
  }

  static of(code: ErrorCode): HubError {
    return new HubError({ code, message: ERROR_MESSAGES[code] });
  }
}

/** The ack of a join: `{ topic, epoch, offset, recovered }` (no epoch and offset while the history is unreachable). */
export interface JoinAck {
  topic: string;
  epoch?: string;
  offset?: number;
  recovered: boolean;
}

export interface SubscribeRequest extends JoinRequest, HoldOptions {}

/** How a subscriber holds one stream: from which offset it got it, in which epoch. */
interface Holding extends HoldOptions {
  /** The first offset the subscriber got through this stream. */
  from: number;
  epoch: string;
}

interface Entry {
  subscriber: Subscriber;
  streams: Map<string, Holding>;
  /** Topics whose join is under way (they count against the limit). */
  joining: Set<string>;
  /** Joins and leaves of one subscriber run one at a time, in order. */
  chain: Promise<unknown>;
  closed: boolean;
}

/** The subscribers of one stream on this instance, per transport. */
interface StreamMembers {
  byTransport: Map<HubTransport<any>, Set<Entry>>;
  /** How many of them take this stream's readings in batches. */
  batched: number;
  size: number;
}

const EMPTY: readonly string[] = [];

/** One subscriber's join of one stream, as the joiner sees it. */
interface HubJoinTarget extends JoinTarget {
  readonly entry: Entry;
  readonly stream: string;
}

/**
 * The one place that knows who holds which stream on this instance, for every transport
 * (docs/recovery-design.md section 4). It checks the ACL and the per-connection limit, joins a
 * subscriber to a stream through {@link StreamJoiner} (since / replay / plain, with no gap and no
 * duplicate at the seam), publishes through {@link StreamHistory}, and hands every publication of
 * the live feed to the transports once per group of subscribers that hold the same streams of it:
 * a connection gets each publication once, whatever number of its streams it went to.
 */
@Injectable()
export class SubscriptionHub implements StreamListener, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SubscriptionHub.name);
  private readonly entries = new Map<string, Entry>();
  private readonly members = new Map<string, StreamMembers>();
  private readonly joiner: StreamJoiner<HubJoinTarget>;
  private readonly stopListening: () => void;
  private publishFailing = false;
  /** Publications delivered without offsets (the history was unreachable): sent without `meta`. */
  private readonly unpositioned = new WeakSet<StreamPublication>();
  /** Whether the history's store is reachable (Redis); always in memory. */
  private readonly available: () => boolean;

  constructor(
    @Inject(STREAM_HISTORY) private readonly history: StreamHistory & { start?: () => Promise<void> },
    private readonly batcher: ReadingBatcher,
    private readonly metrics: MetricsService,
    @Inject(REALTIME_OPTIONS) options: ResolvedRealtimeOptions,
  ) {
    const cluster = options.cluster;
    this.available = cluster ? () => cluster.isReady() : () => true;
    this.joiner = new StreamJoiner<HubJoinTarget>(history, { deliverToGroup: (p, targets) => this.deliverJoined(p, targets) });
    this.stopListening = history.listen(this);
  }

  async onModuleInit(): Promise<void> {
    await this.history.start?.();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopListening();
    this.joiner.close();
    await this.history.close();
  }

  // ---- publishing ----

  /**
   * One publication to `streams`: one store call (in a cluster, sharing one Redis round trip with
   * the tick's other publications); every instance delivers it from the live feed. Fire and forget. When the store fails (Redis away)
   * the failure is logged once per outage and counted, and the event still reaches this
   * instance's subscribers, without `meta` (it has no offsets: it cannot be recovered, and the
   * other instances do not get it).
   */
  publish<E extends ServerEventName>(streams: readonly string[], event: E, payload: ServerEventPayloads[E]): void {
    this.history.publish(streams, event, payload).then(
      () => {
        if (this.publishFailing) this.logger.log('Stream publications work again');
        this.publishFailing = false;
      },
      (error: Error) => {
        // A bad stream name or too many streams is the caller's bug: nothing to deliver.
        if (error instanceof RangeError) return void this.logger.error(`Refused publication of '${event}': ${error.message}`);
        this.metrics.listenerErrors.inc({ listener: 'stream_publish' });
        if (!this.publishFailing) this.logger.error(`Could not publish '${event}' (delivered on this instance only, without positions): ${error.message}`);
        this.publishFailing = true;
        const positions: Record<string, number> = {};
        const epoch: Record<string, string> = {};
        for (const stream of streams) [positions[stream], epoch[stream]] = [0, ''];
        const local = StreamPublication.fromValue(event, payload, Date.now(), positions, epoch);
        this.unpositioned.add(local);
        this.publication(local);
      },
    );
  }

  // ---- subscribers ----

  register(subscriber: Subscriber): void {
    if (this.entries.has(subscriber.id)) throw new Error(`Subscriber ${subscriber.id} is already registered`);
    this.entries.set(subscriber.id, { subscriber, streams: new Map(), joining: new Set(), chain: Promise.resolve(), closed: false });
  }

  /** Frees everything the subscriber holds; idempotent. A join under way attaches nothing. */
  unregister(subscriberId: string): void {
    const entry = this.entries.get(subscriberId);
    if (!entry) return;
    this.entries.delete(subscriberId);
    entry.closed = true;
    for (const stream of [...entry.streams.keys()]) this.detach(entry, stream);
  }

  /** Streams the subscriber holds (topics and its user stream). */
  streamsOf(subscriberId: string): string[] {
    return [...(this.entries.get(subscriberId)?.streams.keys() ?? [])];
  }

  /**
   * Joins the subscriber's user stream (`user:<id>`, never joinable by name): at the handshake,
   * with the client's `since` when it resumes. `ready` gets the ack before the missed publications.
   */
  joinUserStream(subscriberId: string, request: JoinRequest, ready: (ack: JoinAck) => void): Promise<JoinAck> {
    const entry = this.requireEntry(subscriberId);
    return this.enqueue(entry, () => this.join(entry, userRoom(entry.subscriber.identity.userId), request, ready));
  }

  /**
   * `subscribe {topic, since?, replay?, batchMs?}` for any transport: ACL, limit, then the join.
   * `ready` gets the ack, then the publications after `since` (or the last `replay`) are delivered,
   * then live ones. Rejects with a {@link HubError} and nothing held on refusal.
   */
  subscribe(subscriberId: string, topic: string, request: SubscribeRequest, ready: (ack: JoinAck) => void): Promise<JoinAck> {
    const entry = this.requireEntry(subscriberId);
    const decision = authorizeTopic(topic, entry.subscriber.identity.role);
    if (!decision.ok) return Promise.reject(new HubError(decision.error));
    const stream = decision.topic;
    if (!entry.streams.has(stream) && !entry.joining.has(stream) && this.topicCount(entry) >= MAX_TOPICS_PER_SOCKET) {
      return Promise.reject(HubError.of(ErrorCode.TOO_MANY_TOPICS));
    }
    entry.joining.add(stream);
    return this.enqueue(entry, async () => {
      try {
        const held = entry.streams.get(stream);
        if (held && request.since === undefined && request.replay === undefined) {
          // Already held: switch the mode in place, no gap and nothing twice.
          this.setBatch(entry, stream, held, request.batchMs);
          // While Redis is away the position cannot be read without waiting out the outage.
          const position = this.available() ? await this.history.position(stream) : null;
          const ack: JoinAck = position
            ? { topic: stream, epoch: position.epoch, offset: position.offset, recovered: false }
            : { topic: stream, recovered: false };
          ready(ack);
          return ack;
        }
        if (held) this.detach(entry, stream);
        return await this.join(entry, stream, request, ready);
      } finally {
        entry.joining.delete(stream);
      }
    });
  }

  /** `unsubscribe {topic}`: the same ACL answer as subscribe; leaving a topic not held is fine. */
  unsubscribe(subscriberId: string, topic: string): Promise<string> {
    const entry = this.requireEntry(subscriberId);
    const decision = authorizeTopic(topic, entry.subscriber.identity.role);
    if (!decision.ok) return Promise.reject(new HubError(decision.error));
    return this.enqueue(entry, async () => {
      this.detach(entry, decision.topic);
      return decision.topic;
    });
  }

  /** After a token refresh (a lower role): drops the topics the subscriber's new role may not hold. */
  revalidate(subscriberId: string): void {
    const entry = this.entries.get(subscriberId);
    if (!entry) return;
    const own = userRoom(entry.subscriber.identity.userId);
    for (const stream of [...entry.streams.keys()]) {
      if (stream !== own && !authorizeTopic(stream, entry.subscriber.identity.role).ok) this.detach(entry, stream);
    }
  }

  /** Subscribers per topic on this instance, every transport (stats). */
  topicSubscribers(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [stream, members] of this.members) if (!stream.startsWith('user:')) counts.set(stream, members.size);
    return counts;
  }

  /** Subscribers per topic of one transport. */
  topicSubscribersOf(protocol: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [stream, members] of this.members) {
      if (stream.startsWith('user:')) continue;
      for (const [transport, set] of members.byTransport)
        if (transport.protocol === protocol && set.size > 0) counts.set(stream, (counts.get(stream) ?? 0) + set.size);
    }
    return counts;
  }

  /** Joins under way (tests, metrics). */
  get joining(): number {
    return this.joiner.joining;
  }

  // ---- the live feed ----

  publication(p: StreamPublication): void {
    const reading = p.event === 'reading:new';
    if (reading) this.batcher.offer(p);
    let first: string | null = null;
    let active: string[] | null = null;
    for (const stream in p.positions) {
      if (!this.members.has(stream)) continue;
      if (first === null) first = stream;
      else (active ??= [first]).push(stream);
    }
    if (first === null) return;
    const metaless = this.unpositioned.has(p);
    try {
      if (active === null) this.deliverWhole(p, first, EMPTY, null, reading, metaless);
      else this.deliverOverlapping(p, active, reading, metaless);
    } catch (error) {
      this.metrics.listenerErrors.inc({ listener: 'hub_delivery' });
      this.logger.error(`Delivering '${p.event}' failed: ${(error as Error).message}`);
    }
  }

  reset(stream: string, position: StreamPosition): void {
    const members = this.members.get(stream);
    if (!members) return;
    for (const set of members.byTransport.values()) {
      for (const entry of set) {
        const holding = entry.streams.get(stream);
        if (holding) Object.assign(holding, { epoch: position.epoch, from: position.offset + 1 });
        entry.subscriber.transport.reset(entry.subscriber, [stream]);
      }
    }
  }

  /**
   * The publication went to several streams held here. Subscribers holding more than one of them
   * (found by walking every stream but the largest: a subscriber of the largest that holds another
   * is met there) form groups by the streams they hold; everybody else gets it through their one
   * stream's whole group, which excludes the streams that overlap with it. User rooms never
   * overlap (a connection holds one), so a notification to many users is one group per room.
   */
  private deliverOverlapping(p: StreamPublication, active: string[], reading: boolean, metaless: boolean): void {
    let largest = active[0]!;
    for (const stream of active) if (this.members.get(stream)!.size > this.members.get(largest)!.size) largest = stream;
    const overlapping = new Map<string, Set<string>>();
    const seen = new Set<Entry>();
    const groups = new Map<string, { streams: string[]; byTransport: Map<HubTransport<any>, Entry[]> }>();
    for (const stream of active) {
      if (stream === largest) continue;
      for (const set of this.members.get(stream)!.byTransport.values()) {
        for (const entry of set) {
          if (entry.streams.size === 1 || seen.has(entry)) continue;
          const held = this.heldOf(entry, p, stream);
          if (held.all.length === 1) continue;
          seen.add(entry);
          for (const s of held.all) {
            let partners = overlapping.get(s);
            if (!partners) overlapping.set(s, (partners = new Set()));
            for (const other of held.all) if (other !== s) partners.add(other);
          }
          const streams = reading ? held.all.filter((s) => !entry.streams.get(s)!.batchMs) : held.all;
          if (streams.length === 0) continue;
          const key = streams.join('\n');
          let group = groups.get(key);
          if (!group) groups.set(key, (group = { streams, byTransport: new Map() }));
          let list = group.byTransport.get(entry.subscriber.transport);
          if (!list) group.byTransport.set(entry.subscriber.transport, (list = []));
          list.push(entry);
        }
      }
    }
    for (const stream of active) this.deliverWhole(p, stream, overlapping.has(stream) ? [...overlapping.get(stream)!] : EMPTY, seen, reading, metaless);
    for (const { streams, byTransport } of groups.values()) {
      for (const [transport, entries] of byTransport) transport.deliver(p, { streams: metaless ? EMPTY : streams, members: entries.map((e) => e.subscriber) });
    }
  }

  /** The streams of `p` the entry holds, `known` among them, in `p`'s order. */
  private heldOf(entry: Entry, p: StreamPublication, known: string): { all: string[] } {
    const all: string[] = [];
    for (const stream of entry.streams.keys()) if (stream === known || p.positions[stream] !== undefined) all.push(stream);
    // One key per set of streams, whatever order the subscriber joined them in.
    if (all.length > 1) all.sort();
    return { all };
  }

  /** Every transport's subscribers of `stream` holding none of `except` (and not batched for a reading). */
  private deliverWhole(p: StreamPublication, stream: string, except: readonly string[], skip: Set<Entry> | null, reading: boolean, metaless: boolean): void {
    const members = this.members.get(stream)!;
    const filterBatched = reading && members.batched > 0;
    for (const [transport, set] of members.byTransport) {
      if (set.size === 0) continue;
      const filtered = filterBatched || (skip !== null && skip.size > 0);
      const group: DeliveryGroup = {
        streams: metaless ? EMPTY : [stream],
        members: filtered ? wholeMembers(set, stream, skip, filterBatched) : subscribersOf(set),
        room: { stream, except },
      };
      transport.deliver(p, group);
    }
  }

  // ---- joins ----

  private async join(entry: Entry, stream: string, request: JoinRequest, ready: (ack: JoinAck) => void): Promise<JoinAck> {
    const { subscriber } = entry;
    if (!this.available()) {
      // The history is unreachable (Redis away): hold the stream for live delivery now, without a
      // position, rather than keep the subscriber waiting for the outage to end.
      const ack: JoinAck = { topic: stream, recovered: false };
      ready(ack);
      this.attach(entry, stream, {
        from: Number.MAX_SAFE_INTEGER,
        epoch: '',
        ...((request as HoldOptions).batchMs ? { batchMs: (request as HoldOptions).batchMs } : {}),
      });
      return ack;
    }
    let first: number | undefined;
    let ack: JoinAck | undefined;
    const target: HubJoinTarget = {
      entry,
      stream,
      ready: ({ recovered, position }) => {
        ack = { topic: stream, epoch: position.epoch, offset: position.offset, recovered };
        if (!entry.closed) ready(ack);
      },
      alreadyHas: (p) => {
        first ??= p.positions[stream];
        return this.alreadyHas(entry, p, stream);
      },
      deliver: (p) => {
        if (entry.closed) return;
        subscriber.transport.deliver(p, { streams: this.metaStreams(entry, p, stream), members: [subscriber] });
      },
      attach: () => {
        if (entry.closed || !ack) return;
        this.attach(entry, stream, {
          from: first ?? ack.offset! + 1,
          epoch: ack.epoch!,
          ...((request as HoldOptions).batchMs === undefined ? {} : { batchMs: (request as HoldOptions).batchMs }),
        });
      },
    };
    try {
      await this.joiner.join(stream, request, target);
    } catch (error) {
      if (error instanceof JoinError) {
        this.logger.warn(`Join of '${stream}' by ${subscriber.id} failed: ${error.message}`);
        throw HubError.of(ErrorCode.INTERNAL_ERROR);
      }
      throw error;
    }
    return ack!;
  }

  /**
   * One replayed publication to the joins of a group (one stream, one request: a reconnect
   * storm's sockets): everyone holding no other stream of it gets it as one group per transport,
   * encoded once; the others one by one, with their own `meta`. A subscriber gone meanwhile gets nothing.
   */
  private deliverJoined(p: StreamPublication, targets: readonly HubJoinTarget[]): void {
    const stream = targets[0]!.stream;
    let alone = true;
    for (const other in p.positions) if (other !== stream) alone = false;
    let byTransport: Map<HubTransport<any>, Subscriber[]> | null = null;
    for (const target of targets) {
      const { entry } = target;
      if (entry.closed || target.alreadyHas!(p)) continue;
      if (!alone && this.metaStreams(entry, p, stream).length > 1) {
        target.deliver(p);
        continue;
      }
      const transport = entry.subscriber.transport;
      let members = (byTransport ??= new Map()).get(transport);
      if (!members) byTransport.set(transport, (members = []));
      members.push(entry.subscriber);
    }
    if (byTransport) for (const [transport, members] of byTransport) transport.deliver(p, { streams: [stream], members });
  }

  /** Got already through another of its streams (replay and live overlap): skipped, so it arrives once. */
  private alreadyHas(entry: Entry, p: StreamPublication, joining: string): boolean {
    for (const stream in p.positions) {
      if (stream === joining) continue;
      const holding = entry.streams.get(stream);
      if (holding && holding.epoch === p.epoch[stream] && p.positions[stream]! >= holding.from) return true;
    }
    return false;
  }

  private metaStreams(entry: Entry, p: StreamPublication, joining: string): string[] {
    const streams = [joining];
    for (const stream in p.positions) if (stream !== joining && entry.streams.has(stream)) streams.push(stream);
    return streams;
  }

  private attach(entry: Entry, stream: string, holding: Holding): void {
    entry.streams.set(stream, holding);
    let members = this.members.get(stream);
    if (!members) this.members.set(stream, (members = { byTransport: new Map(), batched: 0, size: 0 }));
    const transport = entry.subscriber.transport;
    let set = members.byTransport.get(transport);
    if (!set) members.byTransport.set(transport, (set = new Set()));
    set.add(entry);
    members.size += 1;
    if (holding.batchMs) members.batched += 1;
    transport.attached?.(entry.subscriber, stream, { ...(holding.batchMs ? { batchMs: holding.batchMs } : {}) });
  }

  private detach(entry: Entry, stream: string): void {
    const holding = entry.streams.get(stream);
    if (!holding) return;
    entry.streams.delete(stream);
    const members = this.members.get(stream);
    const transport = entry.subscriber.transport;
    if (members) {
      const set = members.byTransport.get(transport);
      if (set?.delete(entry)) {
        members.size -= 1;
        if (holding.batchMs) members.batched -= 1;
        if (set.size === 0) members.byTransport.delete(transport);
      }
      if (members.size === 0) this.members.delete(stream);
    }
    transport.detached?.(entry.subscriber, stream);
  }

  private setBatch(entry: Entry, stream: string, holding: Holding, batchMs: number | undefined): void {
    const members = this.members.get(stream)!;
    if (holding.batchMs) members.batched -= 1;
    if (batchMs) members.batched += 1;
    if (batchMs) holding.batchMs = batchMs;
    else delete holding.batchMs;
    entry.subscriber.transport.attached?.(entry.subscriber, stream, batchMs ? { batchMs } : {});
  }

  private topicCount(entry: Entry): number {
    const own = userRoom(entry.subscriber.identity.userId);
    let count = entry.joining.size;
    for (const stream of entry.streams.keys()) if (stream !== own && !entry.joining.has(stream)) count += 1;
    return count;
  }

  private enqueue<T>(entry: Entry, task: () => Promise<T>): Promise<T> {
    const run = entry.chain.then(() => (entry.closed ? Promise.reject(HubError.of(ErrorCode.NOT_FOUND)) : task()));
    entry.chain = run.catch(() => undefined);
    return run;
  }

  private requireEntry(subscriberId: string): Entry {
    const entry = this.entries.get(subscriberId);
    if (!entry) throw new Error(`Subscriber ${subscriberId} is not registered`);
    return entry;
  }
}

function* subscribersOf(set: Iterable<Entry>): Iterable<Subscriber> {
  for (const entry of set) yield entry.subscriber;
}

function* wholeMembers(set: Iterable<Entry>, stream: string, skip: Set<Entry> | null, filterBatched: boolean): Iterable<Subscriber> {
  for (const entry of set) {
    if (skip?.has(entry)) continue;
    if (filterBatched && entry.streams.get(stream)?.batchMs) continue;
    yield entry.subscriber;
  }
}
