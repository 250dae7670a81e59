import { Logger } from '@nestjs/common';
import { msSince, type ServerEventName, type ServerEventPayloads } from '#contracts';
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
 * What a ring keeps of one publication: the payload, and its streams with their offsets as fields
 * (a publication to more than two streams is a {@link StoredMany}). One object per publication (a
 * reading goes to `readings` and `sensor:<id>`): arrays cost 64 bytes and more each, and the
 * positions and epoch records a StreamPublication carries about 200 bytes each (see `record`), so
 * those are made again when the publication is read (recovery, replay: rare and short-lived). A
 * stream is named by its state, which holds its name and epoch for good (a stream forgotten and
 * published to again is a new state with a new epoch; one whose history expired keeps its state,
 * epoch and offset, as a client's position in it stays valid); a forgotten stream's ring is emptied, so what other
 * streams keep of it is that name and epoch only. `ts` is relative to the history's time base, so
 * it stays a small integer rather than a boxed double.
 */
class Stored {
  constructor(
    readonly event: ServerEventName,
    readonly payload: ServerEventPayloads[ServerEventName],
    readonly ts: number,
    readonly stream0: MemoryStream,
    readonly offset0: number,
    readonly stream1: MemoryStream | null,
    readonly offset1: number,
  ) {}

  /** Calls `f` with each stream of the publication and its offset there, in publication order. */
  forEachStream(f: (stream: MemoryStream, offset: number) => void): void {
    f(this.stream0, this.offset0);
    if (this.stream1 !== null) f(this.stream1, this.offset1);
  }

  /** True when this publication went to the same streams (the same states: same names and epochs) as `other`. */
  sameStreams(other: Stored): boolean {
    return !(other instanceof StoredMany) && this.stream0 === other.stream0 && this.stream1 === other.stream1;
  }

  /** The publication as a reader gets it; `epoch` is this publication's epoch record (a read shares one between publications to the same streams). */
  publication(epoch: Readonly<Record<string, string>>, base: number): StreamPublication {
    const positions = record<number>();
    this.forEachStream((stream, offset) => (positions[stream.name] = offset));
    return StreamPublication.fromValue(this.event, this.payload, base + this.ts, positions, epoch);
  }

  /** The epoch record of this publication's streams. */
  epochRecord(): Record<string, string> {
    const epoch = record<string>();
    this.forEachStream((stream) => (epoch[stream.name] = stream.epoch));
    return epoch;
  }
}

/** A publication to three streams or more (a sensor's `sensor:created` goes to three): the third as fields, any further ones in one array. */
class StoredMany extends Stored {
  constructor(
    event: ServerEventName,
    payload: ServerEventPayloads[ServerEventName],
    ts: number,
    stream0: MemoryStream,
    offset0: number,
    stream1: MemoryStream,
    offset1: number,
    readonly stream2: MemoryStream,
    readonly offset2: number,
    /** Streams after the third one, then their offsets (null for three streams). */
    readonly more: readonly (MemoryStream | number)[] | null,
  ) {
    super(event, payload, ts, stream0, offset0, stream1, offset1);
  }

  override forEachStream(f: (stream: MemoryStream, offset: number) => void): void {
    super.forEachStream(f);
    f(this.stream2, this.offset2);
    const more = this.more;
    if (more === null) return;
    const count = more.length / 2;
    for (let i = 0; i < count; i++) f(more[i] as MemoryStream, more[count + i] as number);
  }

  override sameStreams(other: Stored): boolean {
    if (!(other instanceof StoredMany) || this.stream0 !== other.stream0 || this.stream1 !== other.stream1 || this.stream2 !== other.stream2) return false;
    const [a, b] = [this.more, other.more];
    if (a === null || b === null) return a === b;
    if (a.length !== b.length) return false;
    const count = a.length / 2;
    for (let i = 0; i < count; i++) if (a[i] !== b[i]) return false;
    return true;
  }
}

/**
 * One stream: its name, epoch, top offset and a ring of its last `historySize` publications. Times
 * are relative to the history's time base (small integers, not boxed doubles: two fewer heap
 * numbers per stream).
 */
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
  /** When the history is dropped (ms after the time base). */
  historyExpiresAt = 0;
  /** When the stream itself (epoch and offset) is forgotten (ms after the time base). */
  expiresAt: number;
  /** Neighbours in the history's eviction order (streams published to only). */
  older: MemoryStream | null = null;
  newer: MemoryStream | null = null;

  constructor(
    /** The stream's name as a flat string: the map's key and every kept publication's. */
    readonly name: string,
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
  since(after: number, base: number, limit = Infinity): StreamPublication[] {
    const first = this.top - this.used + 1;
    const from = Math.max(after + 1, first) - first;
    const to = Math.min(this.used, from + limit);
    const out: StreamPublication[] = [];
    let previous: Stored | null = null;
    let epoch: Readonly<Record<string, string>> = {};
    for (let i = from; i < to; i++) {
      const stored = this.ring[(this.start + i) % this.used]!;
      if (previous === null || !stored.sameStreams(previous)) epoch = stored.epochRecord();
      previous = stored;
      out.push(stored.publication(epoch, base));
    }
    return out;
  }

  clearHistory(): void {
    this.ring = [];
    this.used = 0;
    this.start = 0;
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
  /** Streams published to. */
  private readonly streams = new Map<string, MemoryStream>();
  /**
   * The same streams by last publication, least recent first (the eviction order): a list through
   * the streams themselves. Moving a stream to the end of the map on every publication (a delete
   * and a set) cost two hash operations, and the deleted entries made the map's table grow to twice
   * the size its streams need.
   */
  private oldest: MemoryStream | null = null;
  private newest: MemoryStream | null = null;
  /** Streams only read so far (offset 0), oldest first. */
  private readonly probes = new Map<string, MemoryStream>();
  private readonly listeners = new Set<StreamListener>();
  private readonly sweeper: NodeJS.Timeout | null;
  /** What stored times are relative to (ms): the clock when the history was made. */
  private readonly base: number;

  constructor(
    options: StreamHistoryOptions = {},
    /** Injected in tests. */
    private readonly now: () => number = Date.now,
    { sweepIntervalMs = 60_000 }: { sweepIntervalMs?: number | null } = {},
  ) {
    this.options = resolveStreamHistoryOptions(options);
    this.base = now();
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
    const publications = isStreamPosition(since) && since.epoch === state.epoch && since.offset < state.top ? state.since(since.offset, this.base) : [];
    return recoveryOf(stream, since, position, publications);
  }

  async latest(stream: string, n: number): Promise<LatestResult> {
    checkStream(stream);
    checkReplayCount(n);
    const state = this.read(stream);
    return { publications: state.since(state.top - n, this.base), position: { epoch: state.epoch, offset: state.top } };
  }

  listen(listener: StreamListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The live feed is synchronous: a publication has reached the listeners when `publish` returns. */
  async sync(): Promise<void> {}

  /** Drops expired histories and forgets expired streams (also run by a timer). */
  sweep(): void {
    const now = this.sinceBase();
    for (const state of this.streams.values()) {
      if (state.expiresAt <= now) this.forget(state);
      else if (state.size > 0 && state.historyExpiresAt <= now) state.clearHistory();
    }
    for (const [name, state] of this.probes) if (state.expiresAt <= now) this.probes.delete(name);
  }

  close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.listeners.clear();
    this.streams.clear();
    this.oldest = this.newest = null;
    this.probes.clear();
    return Promise.resolve();
  }

  private publishNow<E extends ServerEventName>(streams: readonly string[], event: E, payload: ServerEventPayloads[E]): PublishResult {
    const names = checkStreams(streams, this.options.maxStreamsPerPublication);
    const now = this.sinceBase();
    const positions = record<number>();
    const epoch = record<string>();
    const states: MemoryStream[] = [];
    for (const name of names) {
      const state = this.current(name, now);
      if (state.top === 0) {
        // First publication (a new stream, or one only read so far). Keyed by its own (flat) name.
        this.probes.delete(state.name);
        this.streams.set(state.name, state);
      } else this.unlink(state);
      // Most recently published last: the eviction order.
      this.append(state);
      state.top += 1;
      state.historyExpiresAt = now + this.options.historyTtlSeconds * 1000;
      state.expiresAt = now + this.options.metaTtlSeconds * 1000;
      positions[name] = state.top;
      epoch[name] = state.epoch;
      states.push(state);
    }
    const publication = StreamPublication.fromValue(event, payload, this.base + now, positions, epoch);
    const stored = storedOf(event, payload, now, states);
    for (const state of states) state.push(stored, this.options.historySize);
    while (this.streams.size > this.options.maxStreams) this.forget(this.oldest!);
    for (const listener of this.listeners) {
      try {
        listener.publication(publication);
      } catch (error) {
        this.logger.error(`A stream listener failed on '${event}': ${(error as Error).message}`);
      }
    }
    return { positions, epoch };
  }

  /** ms since the time base (`msSince`: no boxed double per stream and per kept publication). */
  private sinceBase(): number {
    return msSince(this.base, this.now());
  }

  /** Drops a stream published to, and its history: publications other streams keep still name it, and must not keep its ring. */
  private forget(state: MemoryStream): void {
    state.clearHistory();
    this.unlink(state);
    this.streams.delete(state.name);
  }

  private unlink(state: MemoryStream): void {
    if (state.older) state.older.newer = state.newer;
    else if (this.oldest === state) this.oldest = state.newer;
    if (state.newer) state.newer.older = state.older;
    else if (this.newest === state) this.newest = state.older;
    state.older = state.newer = null;
  }

  private append(state: MemoryStream): void {
    state.older = this.newest;
    state.newer = null;
    if (this.newest) this.newest.newer = state;
    else this.oldest = state;
    this.newest = state;
  }

  /** The stream for a read: created (new epoch, kept apart, short-lived) when unknown, so the position given out stays valid. */
  private read(name: string): MemoryStream {
    const state = this.current(name, this.sinceBase());
    if (state.top === 0 && !this.probes.has(name) && !this.streams.has(name)) {
      this.probes.set(state.name, state);
      evictBeyond(this.probes, this.options.maxStreams);
    }
    return state;
  }

  /** The live state of `name`, expired parts dropped; a new one (not yet stored) when unknown or expired. `now` is relative to the time base. */
  private current(name: string, now: number): MemoryStream {
    let state = this.streams.get(name) ?? this.probes.get(name);
    if (state && state.expiresAt <= now) {
      if (state.top > 0) this.forget(state);
      else this.probes.delete(name);
      state = undefined;
    }
    if (!state) return new MemoryStream(flatString(name), newEpoch(), now + this.options.historyTtlSeconds * 1000);
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

/** What the rings keep of a publication to `states` (after their offsets were taken); `ts` is relative to the time base. */
function storedOf(event: ServerEventName, payload: ServerEventPayloads[ServerEventName], ts: number, states: readonly MemoryStream[]): Stored {
  const first = states[0]!;
  if (states.length === 1) return new Stored(event, payload, ts, first, first.top, null, 0);
  const [second, third] = [states[1]!, states[2]];
  if (third === undefined) return new Stored(event, payload, ts, first, first.top, second, second.top);
  let more: (MemoryStream | number)[] | null = null;
  if (states.length > 3) {
    const count = states.length - 3;
    more = new Array<MemoryStream | number>(2 * count);
    for (let i = 0; i < count; i++) [more[i], more[count + i]] = [states[3 + i]!, states[3 + i]!.top];
  }
  return new StoredMany(event, payload, ts, first, first.top, second, second.top, third, third.top, more);
}

/**
 * `name` as a flat string. A name built by concatenation (`sensor:${id}`) is a cons string, which
 * the map flattens on first lookup into a second string: kept as a key, the pair costs twice the
 * characters. A join copies the characters into one flat string (made once per new stream).
 */
function flatString(name: string): string {
  return name.length < 2 ? name : [name.slice(0, 1), name.slice(1)].join('');
}

/** Drops the oldest entries beyond `max`. */
function evictBeyond(map: Map<string, MemoryStream>, max: number): void {
  if (map.size <= max) return;
  for (const name of map.keys()) {
    if (map.size <= max) return;
    map.delete(name);
  }
}
