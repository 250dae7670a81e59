import { randomBytes } from 'node:crypto';
import type { ServerEventName, ServerEventPayloads, StreamMeta, StreamPosition } from '#contracts';

/**
 * Streams with history (CONTRACT section 9): every topic and user room is a stream; each
 * publication gets the next offset in every stream it goes to; the stream's epoch changes
 * whenever its history is lost. Transport-neutral: Socket.IO, `/ws` and SSE adapters read the
 * same publications. See docs/recovery-design.md for how the subscription hub uses it.
 */

/** Where a client stands in one stream (`offset` 0: before the stream's first publication): the contract's type. */
export type { StreamPosition };

/** The positions of one publication, by stream: the `meta` argument of a delivered event. */
export type PublishResult = StreamMeta;

export interface RecoverResult {
  /** True when every publication after `since` is in `publications` (possibly none). */
  recovered: boolean;
  /** Oldest first; empty when `recovered` is false (nothing is replayed then). */
  publications: StreamPublication[];
  /** The stream's position as of this read: the ack's `epoch` and `offset`. */
  position: StreamPosition;
}

export interface LatestResult {
  /** The last publications, oldest first. */
  publications: StreamPublication[];
  position: StreamPosition;
}

/** What the live feed tells its listener, on every instance, in offset order per stream. */
export interface StreamListener {
  /** Every publication, this instance's and the other instances', exactly once. */
  publication(publication: StreamPublication): void;
  /**
   * This instance lost continuity in `stream` (its history was flushed, or a gap in the live feed
   * could not be filled from history): the stream's subscribers must be told `recovered: false`.
   * Live publications continue from `position`.
   */
  reset(stream: string, position: StreamPosition): void;
}

/** History and live feed of every stream: one implementation per deployment (memory or Redis). */
export interface StreamHistory {
  /** One publication to every stream of `streams` (deduplicated), with one offset in each. */
  publish<E extends ServerEventName>(streams: readonly string[], event: E, payload: ServerEventPayloads[E]): Promise<PublishResult>;
  /** The stream's current position (a stream never published to gets its epoch and offset 0). */
  position(stream: string): Promise<StreamPosition>;
  /** Every publication after `since`, or `recovered: false` when the epoch changed or history no longer covers the gap. */
  recover(stream: string, since: StreamPosition): Promise<RecoverResult>;
  /** The last `n` publications (`replay: N`), fewer when the history holds fewer. */
  latest(stream: string, n: number): Promise<LatestResult>;
  /** Subscribes to the live feed; returns the unsubscribe function. */
  listen(listener: StreamListener): () => void;
  /**
   * Resolves once every publication made (on any instance) before the call has reached this
   * instance's listeners: the barrier a join waits for after reading history, so that nothing it
   * read is still on its way through the live feed (docs/recovery-design.md, the seam rule).
   * Rejects when the live feed does not answer in time (Redis unreachable).
   */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface StreamHistoryOptions {
  /** Publications kept per stream. @default 1000 (`HISTORY_SIZE`) */
  historySize?: number;
  /** A stream's history is dropped this long after its last publication. @default 600 (`HISTORY_TTL`) */
  historyTtlSeconds?: number;
  /**
   * A stream's epoch and offset outlive its history by this much, so a client of a quiet stream
   * still recovers (nothing was missed) instead of seeing a new epoch. At least `historyTtlSeconds`.
   * @default 86400
   */
  metaTtlSeconds?: number;
  /** Streams kept at once (in memory), least recently published dropped first. @default 50000 */
  maxStreams?: number;
  /** Streams one publication may go to (a notification to many users is one stream per user). @default 1000 */
  maxStreamsPerPublication?: number;
}

export const DEFAULT_HISTORY_SIZE = 1000;
export const DEFAULT_HISTORY_TTL_SECONDS = 600;
export const DEFAULT_META_TTL_SECONDS = 86_400;
export const DEFAULT_MAX_STREAMS = 50_000;
export const DEFAULT_MAX_STREAMS_PER_PUBLICATION = 1000;
/** `replay: N` bound (contract section 9). */
export const MAX_REPLAY = 100;
/** Longest stream name accepted (`sensor:` + a 64-character id, or `user:` + a JWT subject). */
export const MAX_STREAM_NAME_LENGTH = 256;

export type ResolvedStreamHistoryOptions = Required<StreamHistoryOptions>;

export function resolveStreamHistoryOptions(options: StreamHistoryOptions = {}): ResolvedStreamHistoryOptions {
  const resolved: ResolvedStreamHistoryOptions = {
    historySize: options.historySize ?? DEFAULT_HISTORY_SIZE,
    historyTtlSeconds: options.historyTtlSeconds ?? DEFAULT_HISTORY_TTL_SECONDS,
    metaTtlSeconds: options.metaTtlSeconds ?? Math.max(DEFAULT_META_TTL_SECONDS, options.historyTtlSeconds ?? 0),
    maxStreams: options.maxStreams ?? DEFAULT_MAX_STREAMS,
    maxStreamsPerPublication: options.maxStreamsPerPublication ?? DEFAULT_MAX_STREAMS_PER_PUBLICATION,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`StreamHistory option ${name} must be a positive integer, got ${value}`);
  }
  if (resolved.metaTtlSeconds < resolved.historyTtlSeconds) throw new RangeError('StreamHistory option metaTtlSeconds must be at least historyTtlSeconds');
  if (resolved.maxStreamsPerPublication > resolved.maxStreams) throw new RangeError('StreamHistory option maxStreamsPerPublication must not exceed maxStreams');
  return resolved;
}

/**
 * One publication as every transport needs it. The payload is serialized at most once per
 * instance (`payloadJson`, embedded as-is in `/ws` frames and SSE `data:` lines); a publication
 * that arrived from Redis is parsed at most once (`payload`, for Socket.IO).
 */
export class StreamPublication<E extends ServerEventName = ServerEventName> {
  private json: string | undefined;
  private value: ServerEventPayloads[E] | undefined;
  private parsed: boolean;

  private constructor(
    readonly event: E,
    /** ms epoch of the publication. */
    readonly ts: number,
    /** Its offset in every stream it went to. */
    readonly positions: Readonly<Record<string, number>>,
    /** The epoch of every stream it went to. */
    readonly epoch: Readonly<Record<string, string>>,
    payload: { value: ServerEventPayloads[E] } | { json: string },
  ) {
    this.parsed = 'value' in payload;
    if ('value' in payload) this.value = payload.value;
    else this.json = payload.json;
  }

  static fromValue<E extends ServerEventName>(
    event: E,
    payload: ServerEventPayloads[E],
    ts: number,
    positions: Record<string, number>,
    epoch: Record<string, string>,
  ): StreamPublication<E> {
    return new StreamPublication(event, ts, positions, epoch, { value: payload });
  }

  static fromJson(
    event: ServerEventName,
    payloadJson: string,
    ts: number,
    positions: Record<string, number>,
    epoch: Record<string, string>,
  ): StreamPublication {
    return new StreamPublication(event, ts, positions, epoch, { json: payloadJson });
  }

  get payload(): ServerEventPayloads[E] {
    if (!this.parsed) {
      this.value = JSON.parse(this.json!) as ServerEventPayloads[E];
      this.parsed = true;
    }
    return this.value!;
  }

  get payloadJson(): string {
    return (this.json ??= JSON.stringify(this.value));
  }

  /** The `meta` argument for a client holding `streams` (the ones of this publication it holds). */
  metaFor(streams: Iterable<string>): PublishResult {
    const positions: Record<string, number> = {};
    const epoch: Record<string, string> = {};
    for (const stream of streams) {
      const offset = this.positions[stream];
      if (offset === undefined) continue;
      positions[stream] = offset;
      epoch[stream] = this.epoch[stream]!;
    }
    return { positions, epoch };
  }
}

/** A fresh random epoch: 8 URL-safe characters (also safe inside JSON built by a Lua script). */
export const newEpoch = (): string => randomBytes(6).toString('base64url');

/** Checks and deduplicates the streams of one publication. */
export function checkStreams(streams: readonly string[], max: number): readonly string[] {
  if (!Array.isArray(streams) || streams.length === 0) throw new RangeError('A publication needs at least one stream');
  if (streams.length === 1) {
    // The common case (one topic or one user room): no copy.
    checkStream(streams[0]!);
    return streams as string[];
  }
  const unique = [...new Set(streams)];
  if (unique.length > max) throw new RangeError(`A publication may go to at most ${max} streams, got ${unique.length}`);
  for (const stream of unique) checkStream(stream);
  return unique;
}

// A stream name becomes an object key, a Redis key and a JSON string built by a Lua script.
// eslint-disable-next-line no-control-regex
const BAD_STREAM_NAME = /[\u0000-\u001f\u007f]/;

export function checkStream(stream: string): void {
  if (typeof stream !== 'string' || stream.length === 0 || stream.length > MAX_STREAM_NAME_LENGTH || BAD_STREAM_NAME.test(stream) || stream === '__proto__') {
    throw new RangeError(`Invalid stream name ${JSON.stringify(String(stream).slice(0, 80))}`);
  }
}

/** A client-supplied position, checked before it reaches a store. */
export function isStreamPosition(value: unknown): value is StreamPosition {
  if (typeof value !== 'object' || value === null) return false;
  const { epoch, offset } = value as Partial<StreamPosition>;
  return typeof epoch === 'string' && epoch.length > 0 && epoch.length <= 64 && Number.isSafeInteger(offset) && offset! >= 0;
}

export function checkReplayCount(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`latest() needs a positive integer count, got ${n}`);
}

/**
 * The recovery rule both stores share (Centrifuge's `isStreamRecovered`): same epoch, and the
 * publications read after `since` start right after it and end at the stream's top.
 */
export function recoveryOf(stream: string, since: StreamPosition, position: StreamPosition, publications: StreamPublication[]): RecoverResult {
  const refused: RecoverResult = { recovered: false, publications: [], position };
  if (!isStreamPosition(since) || since.epoch !== position.epoch || since.offset > position.offset) return refused;
  if (since.offset === position.offset) return { recovered: true, publications: [], position };
  const first = publications[0]?.positions[stream];
  const last = publications.at(-1)?.positions[stream];
  if (first !== since.offset + 1 || last !== position.offset || publications.length !== position.offset - since.offset) return refused;
  return { recovered: true, publications, position };
}
