import { Logger } from '@nestjs/common';
import type { ServerEventName, ServerEventPayloads } from '#contracts';
import {
  checkReplayCount,
  checkStream,
  checkStreams,
  isStreamPosition,
  newEpoch,
  recoveryOf,
  resolveStreamHistoryOptions,
  StreamPublication,
  type LatestResult,
  type PublishResult,
  type RecoverResult,
  type ResolvedStreamHistoryOptions,
  type StreamHistory,
  type StreamHistoryOptions,
  type StreamListener,
  type StreamPosition,
} from './stream-history.js';

/**
 * The streams of a run of publications, then their epochs (names at 0..n-1, epochs at n..2n-1; one
 * array rather than two, and no wrapper: an array costs 48 bytes before its first element). Shared
 * by every publication to the same streams while their epochs last (readings of one series, a
 * user's notifications).
 */
type StreamSet = readonly string[];

/**
 * What a ring keeps of one publication: its streams (shared), its offset in each, and the payload.
 * The positions and epoch records a StreamPublication carries are made again when it is read:
 * records keyed by stream names cost about 200 bytes each (see `record`), two per publication,
 * while a read (recovery, replay) is rare and short-lived.
 */
class Stored {
  constructor(
    readonly event: ServerEventName,
    readonly payload: ServerEventPayloads[ServerEventName],
    readonly ts: number,
    readonly set: StreamSet,
    readonly offsets: readonly number[],
  ) {}

  /** The publication as a reader gets it; `epoch` is the record of this publication's set (shared by a read's run of them). */
  publication(epoch: Readonly<Record<string, string>>): StreamPublication {
    const positions = record<number>();
    for (let i = 0; i < this.offsets.length; i++) positions[this.set[i]!] = this.offsets[i]!;
    return StreamPublication.fromValue(this.event, this.payload, this.ts, positions, epoch);
  }
}

/** The epoch record of a stream set. */
function epochRecord(set: StreamSet): Record<string, string> {
  const epoch = record<string>();
  const count = set.length / 2;
  for (let i = 0; i < count; i++) epoch[set[i]!] = set[count + i]!;
  return epoch;
}

/** One stream: its epoch, top offset and a ring of its last `historySize` publications. */
class MemoryStream {
  /**
   * Oldest first once `start` is applied; `used` of its slots are used. Grown by doubling to exact
   * lengths (a pushed-to array reserves 17 slots at once): most streams of a sensor flood hold one
   * or two publications.
   */
  private ring: Stored[] = [];
  private used = 0;
  private start = 0;
  top = 0;
  /** When the history is dropped (ms). */
  historyExpiresAt = 0;
  /** When the stream itself (epoch and offset) is forgotten (ms). */
  expiresAt: number;
  /** The streams of this stream's last publication, for the next one to the same streams to share. */
  lastSet: StreamSet | null = null;

  constructor(
    readonly epoch: string,
    expiresAt: number,
  ) {
    this.expiresAt = expiresAt;
  }

  get size(): number {
    return this.used;
  }

  push(stored: Stored, capacity: number): void {
    if (this.used < capacity) {
      if (this.used === this.ring.length) {
        const grown = new Array<Stored>(Math.min(capacity, Math.max(1, this.used * 2)));
        for (let i = 0; i < this.used; i++) grown[i] = this.ring[i]!;
        this.ring = grown;
      }
      this.ring[this.used++] = stored;
      return;
    }
    this.ring[this.start] = stored;
    this.start = (this.start + 1) % capacity;
  }

  /** The publications with offset > `after`, oldest first, at most `limit`. */
  since(after: number, limit = Infinity): StreamPublication[] {
    const first = this.top - this.used + 1;
    const from = Math.max(after + 1, first) - first;
    const to = Math.min(this.used, from + limit);
    const out: StreamPublication[] = [];
    let set: StreamSet | null = null;
    let epoch: Readonly<Record<string, string>> = {};
    for (let i = from; i < to; i++) {
      const stored = this.ring[(this.start + i) % this.used]!;
      if (stored.set !== set) [set, epoch] = [stored.set, epochRecord(stored.set)];
      out.push(stored.publication(epoch));
    }
    return out;
  }

  clearHistory(): void {
    this.ring = [];
    this.used = 0;
    this.start = 0;
    this.lastSet = null;
  }
}

/**
 * Streams of a single instance. Epochs are random per stream and per process, so a restart
 * (which loses the history) always changes them. Every publication reaches the listeners
 * synchronously, inside `publish`.
 *
 * Memory is bounded twice by `maxStreams`: streams published to (named by the server: topics of
 * known sensors, user rooms) are forgotten `metaTtlSeconds` after their last publication, or
 * earlier when the bound is reached (least recently published first); streams only read (a
 * subscriber named them; nothing was published) are kept apart, forgotten after
 * `historyTtlSeconds`, and evicted only among themselves, so names from outside can never push
 * out a stream's history. A forgotten stream comes back with a new epoch: its clients see
 * `recovered: false`, never a wrong replay.
 */
export class InMemoryStreamHistory implements StreamHistory {
  private readonly logger = new Logger(InMemoryStreamHistory.name);
  private readonly options: ResolvedStreamHistoryOptions;
  /** Streams published to, ordered by last publication, oldest first: the eviction order. */
  private readonly streams = new Map<string, MemoryStream>();
  /** Streams only read so far (offset 0), oldest first. */
  private readonly probes = new Map<string, MemoryStream>();
  private readonly listeners = new Set<StreamListener>();
  private readonly sweeper: NodeJS.Timeout | null;

  constructor(
    options: StreamHistoryOptions = {},
    /** Injected in tests. */
    private readonly now: () => number = Date.now,
    { sweepIntervalMs = 60_000 }: { sweepIntervalMs?: number | null } = {},
  ) {
    this.options = resolveStreamHistoryOptions(options);
    this.sweeper = sweepIntervalMs === null ? null : setInterval(() => this.sweep(), sweepIntervalMs);
    this.sweeper?.unref();
  }

  /** Streams held now (for tests and metrics). */
  get streamCount(): number {
    return this.streams.size + this.probes.size;
  }

  // async: a bad argument is a rejected promise, as with the Redis store; the work itself is synchronous.
  async publish<E extends ServerEventName>(streams: readonly string[], event: E, payload: ServerEventPayloads[E]): Promise<PublishResult> {
    return this.publishNow(streams, event, payload);
  }

  async position(stream: string): Promise<StreamPosition> {
    checkStream(stream);
    const state = this.read(stream);
    return { epoch: state.epoch, offset: state.top };
  }

  async recover(stream: string, since: StreamPosition): Promise<RecoverResult> {
    checkStream(stream);
    const state = this.read(stream);
    const position = { epoch: state.epoch, offset: state.top };
    const publications = isStreamPosition(since) && since.epoch === state.epoch && since.offset < state.top ? state.since(since.offset) : [];
    return recoveryOf(stream, since, position, publications);
  }

  async latest(stream: string, n: number): Promise<LatestResult> {
    checkStream(stream);
    checkReplayCount(n);
    const state = this.read(stream);
    return { publications: state.since(state.top - n), position: { epoch: state.epoch, offset: state.top } };
  }

  listen(listener: StreamListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The live feed is synchronous: a publication has reached the listeners when `publish` returns. */
  async sync(): Promise<void> {}

  /** Drops expired histories and forgets expired streams (also run by a timer). */
  sweep(): void {
    const now = this.now();
    for (const [name, state] of this.streams) {
      if (state.expiresAt <= now) this.streams.delete(name);
      else if (state.size > 0 && state.historyExpiresAt <= now) state.clearHistory();
    }
    for (const [name, state] of this.probes) if (state.expiresAt <= now) this.probes.delete(name);
  }

  close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.listeners.clear();
    this.streams.clear();
    this.probes.clear();
    return Promise.resolve();
  }

  private publishNow<E extends ServerEventName>(streams: readonly string[], event: E, payload: ServerEventPayloads[E]): PublishResult {
    const names = checkStreams(streams, this.options.maxStreamsPerPublication);
    const now = this.now();
    const positions = record<number>();
    const epoch = record<string>();
    const states: MemoryStream[] = [];
    for (const name of names) {
      const state = this.current(name, now);
      // Most recently published last: the eviction order.
      this.streams.delete(name);
      this.probes.delete(name);
      this.streams.set(name, state);
      state.top += 1;
      state.historyExpiresAt = now + this.options.historyTtlSeconds * 1000;
      state.expiresAt = now + this.options.metaTtlSeconds * 1000;
      positions[name] = state.top;
      epoch[name] = state.epoch;
      states.push(state);
    }
    const publication = StreamPublication.fromValue(event, payload, now, positions, epoch);
    // `map`, not `push`: an array grown by push reserves 17 slots.
    const offsets = states.map((state) => state.top);
    const stored = new Stored(event, payload, now, setOf(names, states), offsets);
    for (const state of states) state.push(stored, this.options.historySize);
    evictBeyond(this.streams, this.options.maxStreams);
    for (const listener of this.listeners) {
      try {
        listener.publication(publication);
      } catch (error) {
        this.logger.error(`A stream listener failed on '${event}': ${(error as Error).message}`);
      }
    }
    return { positions, epoch };
  }

  /** The stream for a read: created (new epoch, kept apart, short-lived) when unknown, so the position given out stays valid. */
  private read(name: string): MemoryStream {
    const state = this.current(name, this.now());
    if (state.top === 0 && !this.probes.has(name) && !this.streams.has(name)) {
      this.probes.set(name, state);
      evictBeyond(this.probes, this.options.maxStreams);
    }
    return state;
  }

  /** The live state of `name`, expired parts dropped; a new one (not yet stored) when unknown or expired. */
  private current(name: string, now: number): MemoryStream {
    let state = this.streams.get(name) ?? this.probes.get(name);
    if (state && state.expiresAt <= now) {
      this.streams.delete(name);
      this.probes.delete(name);
      state = undefined;
    }
    if (!state) return new MemoryStream(newEpoch(), now + this.options.historyTtlSeconds * 1000);
    if (state.size > 0 && state.historyExpiresAt <= now) state.clearHistory();
    return state;
  }
}

/**
 * A record keyed by stream names, without a prototype. Keys that name a sensor or a user differ from
 * one stream to the next, so an ordinary object would give V8 a hidden class per key set, and once
 * a few thousand share a prefix (`readings`, then `sensor:<id>`) one per object: a new hidden class
 * for every publication, against a dictionary of about 200 bytes.
 */
function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** The stream set of a publication to `names`: the last stream's previous one when the streams and their epochs are the same. */
function setOf(names: readonly string[], states: readonly MemoryStream[]): StreamSet {
  const last = states[states.length - 1]!;
  const cached = last.lastSet;
  const count = names.length;
  if (cached && cached.length === 2 * count && names.every((name, i) => cached[i] === name && cached[count + i] === states[i]!.epoch)) return cached;
  // A copy: the caller's array is not ours to keep.
  const set = new Array<string>(2 * count);
  for (let i = 0; i < count; i++) [set[i], set[count + i]] = [names[i]!, states[i]!.epoch];
  last.lastSet = set;
  return set;
}

/** Drops the oldest entries beyond `max`. */
function evictBeyond(map: Map<string, MemoryStream>, max: number): void {
  if (map.size <= max) return;
  for (const name of map.keys()) {
    if (map.size <= max) return;
    map.delete(name);
  }
}
