import { isStreamPosition, MAX_REPLAY, type StreamHistory, type StreamListener, type StreamPosition, type StreamPublication } from './stream-history.js';

/** What a subscriber asks for when it joins a stream (`subscribe {topic, since?, replay?}`). */
export interface JoinRequest {
  /** The last position the subscriber saw: everything after it is delivered, or `recovered: false`. */
  since?: StreamPosition;
  /** The last N publications (1-100) are delivered. Ignored when `since` is given. */
  replay?: number;
}

/** The ack's stream fields: `{ ok, topic, epoch, offset, recovered }`. */
export interface JoinResult {
  /** Only with `since`: true when every publication after it is delivered. False otherwise. */
  recovered: boolean;
  /** The stream's position as of the history read; later publications follow the ack. */
  position: StreamPosition;
}

/** One subscriber of one stream, as the hub sees it (a Socket.IO socket, a `/ws` client, an SSE response). */
export interface JoinTarget {
  /** Send the ack now: `deliver` calls and then `attach` follow synchronously. */
  ready(result: JoinResult): void;
  /** One publication of the stream, in offset order. */
  deliver(publication: StreamPublication): void;
  /** From now on the hub's live delivery reaches this subscriber (e.g. join the Socket.IO room). */
  attach(): void;
  /** True when the subscriber already got this publication through another of its streams: it is skipped (once per socket). */
  alreadyHas?(publication: StreamPublication): boolean;
}

export class JoinError extends Error {}

/** Live publications one join may buffer while it reads history; beyond it the join fails (the subscriber retries). */
const DEFAULT_MAX_BUFFERED = 10_000;

class PendingJoin {
  buffered: StreamPublication[] = [];
  overflowed = false;
  /** Set when the stream lost continuity while this join was reading. */
  resetAt: StreamPosition | null = null;

  constructor(private readonly maxBuffered: number) {}

  offer(publication: StreamPublication): void {
    if (this.overflowed) return;
    if (this.buffered.length >= this.maxBuffered) {
      this.overflowed = true;
      this.buffered = [];
      return;
    }
    this.buffered.push(publication);
  }
}

/**
 * Joins a subscriber to a stream without a gap or a duplicate at the seam between history and
 * live delivery (the rule in docs/recovery-design.md, after Centrifuge's PubSubSync):
 *
 * 1. From the moment of the request, live publications of the stream are buffered for the join
 *    (the subscriber is not attached yet, so the hub's delivery does not reach it).
 * 2. History is read (`recover`, `latest` or `position`): it ends at offset T.
 * 3. `sync()`: every publication up to T has come through the live feed (so it is in history
 *    or was buffered, never still on its way).
 * 4. Synchronously: the ack (`ready`), the history read, the buffered publications after T in
 *    order, then `attach`. Whatever is published later reaches the subscriber through the hub.
 *
 * Per-subscriber work happens only while joining; the live path stays one delivery per stream.
 */
export class StreamJoiner implements StreamListener {
  private readonly pending = new Map<string, Set<PendingJoin>>();
  private readonly stop: () => void;

  constructor(
    private readonly history: StreamHistory,
    private readonly maxBuffered = DEFAULT_MAX_BUFFERED,
  ) {
    this.stop = history.listen(this);
  }

  /** Joins in progress (for metrics and tests). */
  get joining(): number {
    let count = 0;
    for (const joins of this.pending.values()) count += joins.size;
    return count;
  }

  publication(publication: StreamPublication): void {
    if (this.pending.size === 0) return;
    for (const stream in publication.positions) {
      const joins = this.pending.get(stream);
      if (joins) for (const join of joins) join.offer(publication);
    }
  }

  reset(stream: string, position: StreamPosition): void {
    const joins = this.pending.get(stream);
    if (!joins) return;
    for (const join of joins) {
      join.resetAt = position;
      join.buffered = join.buffered.filter((p) => p.epoch[stream] === position.epoch && p.positions[stream]! > position.offset);
    }
  }

  /**
   * Runs the four steps for one subscriber. Rejects (a `JoinError`, nothing delivered, nothing
   * attached) when the request is malformed, history cannot be read, or the join fell too far
   * behind; the hub answers the subscriber with an error and it may retry.
   */
  async join(stream: string, request: JoinRequest, target: JoinTarget): Promise<JoinResult> {
    const { since, replay } = request;
    if (since !== undefined && !isStreamPosition(since)) throw new JoinError('since must be { epoch: non-empty string, offset: integer >= 0 }');
    if (since === undefined && replay !== undefined && (!Number.isSafeInteger(replay) || replay < 1 || replay > MAX_REPLAY)) {
      throw new JoinError(`replay must be an integer from 1 to ${MAX_REPLAY}`);
    }
    const join = new PendingJoin(this.maxBuffered);
    let joins = this.pending.get(stream);
    if (!joins) this.pending.set(stream, (joins = new Set()));
    joins.add(join);
    try {
      let recovered = false;
      let publications: StreamPublication[];
      let position: StreamPosition;
      try {
        if (since !== undefined) ({ recovered, publications, position } = await this.history.recover(stream, since));
        else if (replay !== undefined) ({ publications, position } = await this.history.latest(stream, replay));
        else [publications, position] = [[], await this.history.position(stream)];
        await this.history.sync();
      } catch (error) {
        throw new JoinError(`Could not join stream '${stream}': ${(error as Error).message}`, { cause: error });
      }
      if (join.overflowed) throw new JoinError(`Stream '${stream}' moved too fast to join; try again`);
      if (join.resetAt) {
        // History was lost while reading it: what was read belongs to the old epoch.
        [recovered, publications, position] = [false, [], join.resetAt];
      }
      const result: JoinResult = { recovered, position };
      target.ready(result);
      for (const publication of publications) if (!target.alreadyHas?.(publication)) target.deliver(publication);
      for (const publication of join.buffered) {
        if (publication.epoch[stream] !== position.epoch || publication.positions[stream]! <= position.offset) continue;
        if (!target.alreadyHas?.(publication)) target.deliver(publication);
      }
      target.attach();
      return result;
    } finally {
      joins.delete(join);
      if (joins.size === 0 && this.pending.get(stream) === joins) this.pending.delete(stream);
    }
  }

  close(): void {
    this.stop();
    this.pending.clear();
  }
}
