import { TurnBudget } from '../limits/turn-budget.js';
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

/**
 * Deliveries (an ack, or one publication to one subscriber) that joins make in one turn of the
 * event loop. A reconnect storm (2,000 sockets recovering 100 events each: 200,000 deliveries)
 * would otherwise run in one macrotask and stall the loop for seconds; between turns, I/O and
 * timers run.
 */
export const DEFAULT_DELIVERIES_PER_TURN = 2_000;

/**
 * What one join costs besides its publications, in deliveries: the ack, the attach, and what
 * the caller does once the join resolves (a Socket.IO handshake goes on to the unread count).
 * So a turn takes at most 100 joins that replay nothing.
 */
const JOIN_COST = 20;

export interface StreamJoinerOptions<T extends JoinTarget = JoinTarget> {
  /** @default 10000 */
  maxBuffered?: number;
  /** @default {@link DEFAULT_DELIVERIES_PER_TURN} */
  deliveriesPerTurn?: number;
  /**
   * One publication to several joining subscribers of one stream, in offset order: a transport
   * can encode it once for all of them. Each target's `alreadyHas` still applies. By default,
   * `deliver` per target.
   */
  deliverToGroup?: (publication: StreamPublication, targets: readonly T[]) => void;
}

interface Member<T> {
  target: T;
  resolve: (result: JoinResult) => void;
  reject: (error: Error) => void;
}

/**
 * The joins of one stream with the same request that arrive while one of them reads history or
 * waits to be delivered: one read, one `sync()` and one buffer of the live feed for all of them.
 * It takes members until it has delivered them all (or its buffer grew long).
 */
class JoinGroup<T extends JoinTarget> {
  readonly members: Member<T>[] = [];
  buffered: StreamPublication[] = [];
  overflowed = false;
  /** Set when the stream lost continuity: the members not yet delivered get `recovered: false` at this position. */
  resetAt: StreamPosition | null = null;

  constructor(
    private readonly stream: string,
    private readonly maxBuffered: number,
  ) {}

  offer(publication: StreamPublication): void {
    if (this.overflowed) return;
    if (this.buffered.length >= this.maxBuffered) {
      this.overflowed = true;
      this.buffered = [];
      return;
    }
    this.buffered.push(publication);
  }

  reset(position: StreamPosition): void {
    this.resetAt = position;
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
 * 4. Synchronously: the ack (`ready`), the history read, the buffered publications after T in
 *    order, then `attach`. Whatever is published later reaches the subscriber through the hub.
 *
 * Joins of one stream with the same request that come while others wait for step 4 (a reconnect
 * storm) join their group: one read, one barrier, one buffer (started before any of their
 * requests, so nothing after their `since` is missed; a late member's ack and replay are as of
 * the group's read, and what was published since comes from the buffer). Step 4 runs for as
 * many of them at once as `deliveriesPerTurn` allows, each publication handed over once for them
 * (`deliverToGroup`); the rest wait for the next turns of the event loop, the buffer filling
 * meanwhile.
 *
 * Per-subscriber work happens only while joining; the live path stays one delivery per stream.
 */
export class StreamJoiner<T extends JoinTarget = JoinTarget> implements StreamListener {
  private readonly pending = new Map<string, Set<JoinGroup<T>>>();
  /** Groups still taking members, by stream and request. */
  private readonly open = new Map<string, JoinGroup<T>>();
  private readonly stop: () => void;
  private readonly maxBuffered: number;
  private readonly perTurn: number;
  private readonly budget: TurnBudget;
  private readonly deliverToGroup: (publication: StreamPublication, targets: readonly T[]) => void;

  constructor(
    private readonly history: StreamHistory,
    options: StreamJoinerOptions<T> = {},
  ) {
    this.maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    this.perTurn = options.deliveriesPerTurn ?? DEFAULT_DELIVERIES_PER_TURN;
    this.budget = new TurnBudget(this.perTurn);
    this.deliverToGroup = options.deliverToGroup ?? deliverEach;
    this.stop = history.listen(this);
  }

  /** Joins in progress (for metrics and tests). */
  get joining(): number {
    let count = 0;
    for (const groups of this.pending.values()) for (const group of groups) count += group.members.length;
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
    if (groups) for (const group of groups) group.reset(position);
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
    const open = this.open.get(key);
    const group = open ?? new JoinGroup<T>(stream, this.maxBuffered);
    const joined = new Promise<JoinResult>((resolve, reject) => group.members.push({ target, resolve, reject }));
    if (!open) this.start(key, stream, request, group);
    return joined;
  }

  close(): void {
    this.stop();
    this.pending.clear();
    this.open.clear();
  }

  private start(key: string, stream: string, request: JoinRequest, group: JoinGroup<T>): void {
    let groups = this.pending.get(stream);
    if (!groups) this.pending.set(stream, (groups = new Set()));
    groups.add(group);
    this.open.set(key, group);
    this.run(stream, request, group, key)
      .catch((error: Error) => {
        for (const member of group.members.splice(0)) member.reject(error);
      })
      .finally(() => {
        groups.delete(group);
        if (groups.size === 0 && this.pending.get(stream) === groups) this.pending.delete(stream);
      });
  }

  private async run(stream: string, { since, replay }: JoinRequest, group: JoinGroup<T>, key: string): Promise<void> {
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
    const { members } = group;
    try {
      for (;;) {
        // A turn's worth of members: each costs its join and its publications.
        const each = JOIN_COST + publications.length + group.buffered.length;
        const count = Math.max(1, Math.min(members.length, Math.floor(this.perTurn / each)));
        await this.budget.take(count * each);
        if (group.overflowed) throw new JoinError(`Stream '${stream}' moved too fast to join; try again`);
        if (group.resetAt) {
          // History was lost since it was read: what was read belongs to the old epoch.
          [recovered, publications, position] = [false, [], group.resetAt];
          group.resetAt = null;
        }
        this.deliver(stream, members.splice(0, Math.min(count, members.length)), { recovered, position }, publications, group.buffered);
        if (members.length === 0) return;
        // Newcomers start a group of their own rather than join one whose buffer grew long.
        if (group.buffered.length > this.maxBuffered / 10) this.closeGroup(key, group);
      }
    } finally {
      // Synchronously with the last delivery (or the failure): no newcomer joins a group that is done.
      this.closeGroup(key, group);
    }
  }

  private closeGroup(key: string, group: JoinGroup<T>): void {
    if (this.open.get(key) === group) this.open.delete(key);
  }

  /** Step 4 for some members of a group, in one synchronous step. */
  private deliver(stream: string, members: Member<T>[], result: JoinResult, publications: StreamPublication[], buffered: StreamPublication[]): void {
    const targets = members.map((member) => member.target);
    try {
      for (const target of targets) target.ready(result);
      for (const publication of publications) this.deliverToGroup(publication, targets);
      const { position } = result;
      for (const publication of buffered) {
        if (publication.epoch[stream] !== position.epoch || publication.positions[stream]! <= position.offset) continue;
        this.deliverToGroup(publication, targets);
      }
      for (const target of targets) target.attach();
    } catch (error) {
      for (const member of members) member.reject(error as Error);
      throw error;
    }
    for (const member of members) member.resolve(result);
  }
}

function deliverEach<T extends JoinTarget>(publication: StreamPublication, targets: readonly T[]): void {
  for (const target of targets) if (!target.alreadyHas?.(publication)) target.deliver(publication);
}
