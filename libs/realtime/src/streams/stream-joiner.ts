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
  /**
   * The stream lost continuity after the ack, while the join was still delivering (its history
   * was lost, or it outran the join's buffer): tell the subscriber (it reloads). What follows is
   * delivered from `position` on, then `attach`.
   */
  lost(position: StreamPosition): void;
}

export class JoinError extends Error {}

/** Live publications one join may buffer while it reads history; beyond it the join fails (the subscriber retries). */
const DEFAULT_MAX_BUFFERED = 10_000;

/**
 * Deliveries (one publication, or an ack, to one subscriber) that joins make in one turn of the
 * event loop. A reconnect storm (2,000 sockets recovering 100 events each: 200,000 deliveries)
 * would otherwise run in one macrotask and stall the loop for seconds; between turns, I/O and
 * timers run.
 */
export const DEFAULT_DELIVERIES_PER_TURN = 2_000;

export interface StreamJoinerOptions<T extends JoinTarget = JoinTarget> {
  /** @default 10000 */
  maxBuffered?: number;
  /** @default {@link DEFAULT_DELIVERIES_PER_TURN} */
  deliveriesPerTurn?: number;
  /**
   * One publication to every target of a group (the joins of one stream with the same request),
   * in offset order: a transport can encode it once for all of them. Each target's `alreadyHas`
   * still applies. By default, `deliver` per target.
   */
  deliverToGroup?: (publication: StreamPublication, targets: readonly T[]) => void;
}

/** Hands out the deliveries of one event-loop turn to the joins that wait for them. */
class TurnBudget {
  private used = 0;
  private resetScheduled = false;

  constructor(private readonly perTurn: number) {}

  /** Resolves in a turn with room for `cost` deliveries (a turn of its own when `cost` is more than a turn holds). */
  async take(cost: number): Promise<void> {
    while (this.used > 0 && this.used + cost > this.perTurn) await new Promise((resolve) => setImmediate(resolve));
    this.used += cost;
    if (!this.resetScheduled) {
      this.resetScheduled = true;
      setImmediate(() => {
        this.used = 0;
        this.resetScheduled = false;
      });
    }
  }
}

/**
 * The joins of one stream with the same request that arrived while its history was read: one
 * read, one `sync()`, one buffer of the live feed, and each publication delivered to all of them
 * at once. It takes members until its acks are sent.
 */
class JoinGroup<T extends JoinTarget> {
  readonly targets: T[] = [];
  buffered: StreamPublication[] = [];
  overflowed = false;
  /** Set when the stream lost continuity before the acks: the ack says `recovered: false` at this position. */
  resetAt: StreamPosition | null = null;
  /** Set when the stream lost continuity after the acks (a reset, or the buffer overflowed): the targets are told, and go on from here. */
  lostAt: StreamPosition | null = null;
  acked = false;
  done!: Promise<JoinResult>;

  constructor(
    private readonly stream: string,
    private readonly maxBuffered: number,
  ) {}

  offer(publication: StreamPublication): void {
    if (this.overflowed) return;
    if (this.buffered.length >= this.maxBuffered) {
      this.buffered = [];
      // Before the acks the join fails (nothing was sent); after, the targets start over from this publication.
      if (this.acked) this.lostAt = { epoch: publication.epoch[this.stream]!, offset: publication.positions[this.stream]! };
      else this.overflowed = true;
      return;
    }
    this.buffered.push(publication);
  }

  reset(position: StreamPosition): void {
    if (this.acked) this.lostAt = position;
    else this.resetAt = position;
    this.buffered = this.buffered.filter((p) => p.epoch[this.stream] === position.epoch && p.positions[this.stream]! > position.offset);
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
 * 4. The ack (`ready`), the history read, the buffered publications after T in order, then
 *    `attach`. Whatever is published later reaches the subscriber through the hub. This step is
 *    spread over turns of the event loop when it is large (bounded by `deliveriesPerTurn`); the
 *    live feed keeps being buffered until the last turn, which delivers the rest and attaches.
 *
 * Joins of one stream with the same request that come while one is reading history (a reconnect
 * storm) join it: they share the read, the barrier and each delivery (its buffer started before
 * any of their requests, so nothing after their `since` is missed).
 *
 * Per-subscriber work happens only while joining; the live path stays one delivery per stream.
 */
export class StreamJoiner<T extends JoinTarget = JoinTarget> implements StreamListener {
  private readonly pending = new Map<string, Set<JoinGroup<T>>>();
  /** Groups still taking members, by stream and request. */
  private readonly open = new Map<string, JoinGroup<T>>();
  private readonly stop: () => void;
  private readonly maxBuffered: number;
  private readonly budget: TurnBudget;
  private readonly perTurn: number;
  private readonly deliverToGroup: (publication: StreamPublication, targets: readonly T[]) => void;

  constructor(
    private readonly history: StreamHistory,
    options: StreamJoinerOptions<T> = {},
  ) {
    this.maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    this.perTurn = options.deliveriesPerTurn ?? DEFAULT_DELIVERIES_PER_TURN;
    if (!Number.isSafeInteger(this.perTurn) || this.perTurn < 1) throw new RangeError(`deliveriesPerTurn must be a positive integer, got ${this.perTurn}`);
    this.budget = new TurnBudget(this.perTurn);
    this.deliverToGroup = options.deliverToGroup ?? deliverEach;
    this.stop = history.listen(this);
  }

  /** Joins in progress (for metrics and tests). */
  get joining(): number {
    let count = 0;
    for (const groups of this.pending.values()) for (const group of groups) count += group.targets.length;
    return count;
  }

  publication(publication: StreamPublication): void {
    if (this.pending.size === 0) return;
    for (const stream in publication.positions) {
      const groups = this.pending.get(stream);
      if (groups) for (const group of groups) group.offer(publication);
    }
  }

  reset(stream: string, position: StreamPosition): void {
    const groups = this.pending.get(stream);
    if (!groups) return;
    for (const group of groups) group.reset(position);
  }

  /**
   * Runs the four steps for one subscriber (with the others of its group). Rejects (a
   * `JoinError`, nothing delivered, nothing attached) when the request is malformed, history
   * cannot be read, or the join fell too far behind; the hub answers the subscriber with an
   * error and it may retry.
   */
  join(stream: string, request: JoinRequest, target: T): Promise<JoinResult> {
    const { since, replay } = request;
    if (since !== undefined && !isStreamPosition(since))
      return Promise.reject(new JoinError('since must be { epoch: non-empty string, offset: integer >= 0 }'));
    if (since === undefined && replay !== undefined && (!Number.isSafeInteger(replay) || replay < 1 || replay > MAX_REPLAY)) {
      return Promise.reject(new JoinError(`replay must be an integer from 1 to ${MAX_REPLAY}`));
    }
    const key = JSON.stringify(since !== undefined ? [stream, since.epoch, since.offset] : [stream, replay ?? 0]);
    const joinable = this.open.get(key);
    if (joinable) {
      joinable.targets.push(target);
      return joinable.done;
    }
    const group = new JoinGroup<T>(stream, this.maxBuffered);
    group.targets.push(target);
    let groups = this.pending.get(stream);
    if (!groups) this.pending.set(stream, (groups = new Set()));
    groups.add(group);
    this.open.set(key, group);
    group.done = this.run(stream, request, group, key).finally(() => {
      groups.delete(group);
      if (groups.size === 0 && this.pending.get(stream) === groups) this.pending.delete(stream);
    });
    return group.done;
  }

  close(): void {
    this.stop();
    this.pending.clear();
    this.open.clear();
  }

  private async run(stream: string, { since, replay }: JoinRequest, group: JoinGroup<T>, key: string): Promise<JoinResult> {
    let recovered = false;
    let publications: StreamPublication[];
    let position: StreamPosition;
    try {
      if (since !== undefined) ({ recovered, publications, position } = await this.history.recover(stream, since));
      else if (replay !== undefined) ({ publications, position } = await this.history.latest(stream, replay));
      else [publications, position] = [[], await this.history.position(stream)];
      await this.history.sync();
    } catch (error) {
      this.closeGroup(key, group);
      throw new JoinError(`Could not join stream '${stream}': ${(error as Error).message}`, { cause: error });
    }
    // The acks wait for a turn with room; from then on the group takes no newcomers.
    await this.budget.take(group.targets.length);
    this.closeGroup(key, group);
    if (group.overflowed) throw new JoinError(`Stream '${stream}' moved too fast to join; try again`);
    if (group.resetAt) {
      // History was lost while reading it: what was read belongs to the old epoch.
      [recovered, publications, position] = [false, [], group.resetAt];
    }
    const result: JoinResult = { recovered, position };
    const { targets } = group;
    group.acked = true;
    for (const target of targets) target.ready(result);
    // The history read, then what was buffered after it, a turn's worth at a time.
    const perTurn = Math.max(1, Math.floor(this.perTurn / targets.length));
    let read = 0;
    let next = 0;
    for (;;) {
      let sent = 0;
      while (sent < perTurn && read < publications.length) {
        this.deliverToGroup(publications[read++]!, targets);
        sent += 1;
      }
      while (sent < perTurn && next < group.buffered.length) {
        const publication = group.buffered[next++]!;
        if (publication.epoch[stream] !== position.epoch || publication.positions[stream]! <= position.offset) continue;
        this.deliverToGroup(publication, targets);
        sent += 1;
      }
      if (read === publications.length && next === group.buffered.length) break;
      await this.budget.take(perTurn * targets.length);
      if (group.lostAt) {
        // What is left of the history read and the old buffer belongs to before the loss.
        position = group.lostAt;
        group.lostAt = null;
        [read, next] = [publications.length, 0];
        for (const target of targets) target.lost(position);
      }
    }
    for (const target of targets) target.attach();
    return result;
  }

  private closeGroup(key: string, group: JoinGroup<T>): void {
    if (this.open.get(key) === group) this.open.delete(key);
  }
}

function deliverEach<T extends JoinTarget>(publication: StreamPublication, targets: readonly T[]): void {
  for (const target of targets) if (!target.alreadyHas?.(publication)) target.deliver(publication);
}
