import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { ServerEventName, ServerEventPayloads } from '#contracts';
import type { RedisConnection } from '#redis';
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
 * A batch of publications, atomically and in order: for each publication, for each of its streams
 * (KEYS: meta hash, history stream, in pairs, every publication's streams one after the other)
 * take the epoch (a new one when the meta key is gone: flushed, expired or evicted), increment the
 * offset, append the publication's message to the capped history, refresh the TTLs; then PUBLISH
 * the whole batch once. A publication's message is `<header JSON>\n<payload JSON>`; the header is
 * built here because only the script knows the offsets. JSON never contains a raw newline, so a
 * message has exactly one. The channel gets a batch of one as its message, a larger batch as `*`
 * and the messages joined by newlines (see {@link splitBatch}).
 *
 * ARGV: channel, historySize, historyTtl, metaTtl, epoch for new streams, then per publication:
 * the header's start (`{"ev":<event>,"t":<ts>`), the payload JSON, its stream count, each stream's
 * name as a JSON string.
 */
const PUBLISH = `
local offsets, epochs, messages = {}, {}, {}
local k, a = 0, 6
while a <= #ARGV do
  local n = tonumber(ARGV[a + 2])
  local pos, eps = {}, {}
  for i = 1, n do
    local meta = KEYS[2 * (k + i) - 1]
    local epoch = redis.call('HGET', meta, 'e')
    if not epoch then
      epoch = ARGV[5]
      redis.call('HSET', meta, 'e', epoch)
    end
    local offset = redis.call('HINCRBY', meta, 's', 1)
    redis.call('EXPIRE', meta, ARGV[4])
    if offset == 1 then
      -- a new epoch starts: whatever history is left belongs to the old one
      redis.call('DEL', KEYS[2 * (k + i)])
    end
    offsets[k + i] = offset
    epochs[k + i] = epoch
    pos[i] = ARGV[a + 2 + i] .. ':' .. offset
    eps[i] = ARGV[a + 2 + i] .. ':"' .. epoch .. '"'
  end
  local message = ARGV[a] .. ',"s":{' .. table.concat(pos, ',') .. '},"e":{' .. table.concat(eps, ',') .. '}}\\n' .. ARGV[a + 1]
  for i = 1, n do
    redis.call('XADD', KEYS[2 * (k + i)], 'MAXLEN', ARGV[2], offsets[k + i] .. '-0', 'm', message)
    redis.call('EXPIRE', KEYS[2 * (k + i)], ARGV[3])
  end
  messages[#messages + 1] = message
  k = k + n
  a = a + 3 + n
end
if #messages == 1 then
  redis.call('PUBLISH', ARGV[1], messages[1])
else
  redis.call('PUBLISH', ARGV[1], '*' .. table.concat(messages, '\\n'))
end
return { offsets, epochs }
`;

/**
 * A stream's position and, by mode, the publications after an offset (`since`) or the last N
 * (`latest`), read atomically. An unknown stream gets an epoch (so the position handed out stays
 * valid) that lives `historyTtl` only unless something is published: a client naming streams
 * cannot fill Redis for long. KEYS: meta, history. ARGV: mode, argument, epoch for a new stream,
 * TTL of a new stream's meta.
 */
const READ = `
local meta = redis.call('HMGET', KEYS[1], 'e', 's')
local epoch, top = meta[1], tonumber(meta[2] or '0')
if not epoch then
  epoch = ARGV[3]
  top = 0
  redis.call('HSET', KEYS[1], 'e', epoch)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
local entries = {}
local arg = tonumber(ARGV[2])
if ARGV[1] == 'since' and arg < top and ARGV[5] == epoch then
  entries = redis.call('XRANGE', KEYS[2], (arg + 1) .. '-0', '+')
elseif ARGV[1] == 'latest' and top > 0 then
  entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', arg)
end
local messages = {}
for i = 1, #entries do messages[i] = entries[i][2][2] end
return { epoch, top, messages }
`;

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const PUBLISH_SCRIPT = new Script(PUBLISH);
const READ_SCRIPT = new Script(READ);

/**
 * The message of one publication is `JSON(StreamMessageHeader) + '\n' + payload JSON`: what each
 * stream's history keeps, and what channel `<prefix>streams:pub` carries, alone or in a batch
 * (`*` + messages joined by `'\n'`, {@link splitBatch}). A channel message starting with `~` is a
 * `sync()` barrier (`~<instance>:<n>`), not a publication.
 */
export interface StreamMessageHeader {
  /** Event name. */
  ev: ServerEventName;
  /** ms epoch of the publication. */
  t: number;
  /** Offset per stream. */
  s: Record<string, number>;
  /** Epoch per stream. */
  e: Record<string, string>;
}

/** Parses one cluster message (also the form kept in history); null when malformed. */
export function parseStreamMessage(message: string): StreamPublication | null {
  const cut = message.indexOf('\n');
  if (cut < 0) return null;
  try {
    const header = JSON.parse(message.slice(0, cut)) as StreamMessageHeader;
    if (typeof header?.ev !== 'string' || typeof header.s !== 'object' || typeof header.e !== 'object') return null;
    return StreamPublication.fromJson(header.ev, message.slice(cut + 1), header.t, header.s, header.e);
  } catch {
    return null;
  }
}

/**
 * The messages of one channel message, in order: a batch (`*` then messages joined by newlines,
 * each message holding exactly one newline) or a single message. Cut on every second newline.
 */
export function splitBatch(message: string): string[] {
  if (!message.startsWith('*')) return [message];
  const messages: string[] = [];
  let start = 1;
  while (start < message.length) {
    const cut = message.indexOf('\n', start);
    const end = cut < 0 ? -1 : message.indexOf('\n', cut + 1);
    messages.push(message.slice(start, end < 0 ? message.length : end));
    if (end < 0) break;
    start = end + 1;
  }
  return messages;
}

/** Bounds of one {@link RedisStreamHistory}: tests set small ones. */
export interface RedisStreamHistoryLimits {
  /** How long `sync()` waits for its barrier to come back. @default 5000 */
  syncTimeoutMs?: number;
  /**
   * Stream entries (one per stream of each publication) in one script call: about six commands
   * each, during which Redis runs nothing else, so calls stay short; and the live feed starts
   * delivering a large burst while Redis still runs its later calls. @default 256
   */
  batchStreams?: number;
  /** Characters of payloads, headers and stream names in one script call. @default 1048576 */
  batchChars?: number;
  /**
   * Stream entries queued or waiting for Redis's answer. Beyond it `publish()` rejects at once, as a
   * failed call does: while Redis is away, calls queue on the connection, and one call carries
   * up to `batchStreams` entries. @default 100000
   */
  maxUnansweredStreams?: number;
}

/** A publication waiting for the end of its tick, to go out in one script call with the others. */
interface PendingPublication {
  names: readonly string[];
  /** The header's start: `{"ev":<event>,"t":<ts>`. */
  head: string;
  payloadJson: string;
  /** What it adds to a call's {@link RedisStreamHistoryLimits.batchChars}. */
  chars: number;
  resolve: (result: PublishResult) => void;
  reject: (error: Error) => void;
}

/**
 * Streams in Redis, shared by every instance: positions and history are the same everywhere.
 * Per stream a meta hash (`e` epoch, `s` top offset; lives `metaTtlSeconds` after the last
 * publication) and a Redis Stream of the last `historySize` publications whose entry ids are
 * the offsets (`<offset>-0`), so "everything after offset N" is one XRANGE and the trim is
 * XADD's MAXLEN. The publications of one tick go out together as one script call (one round
 * trip; bounded by {@link RedisStreamHistoryLimits}) that also publishes them, in call order, to
 * every instance, this one included: all instances deliver from that one channel, so per stream
 * they see publications in offset order. A notification to N users is one call, not N.
 *
 * The live feed checks continuity per stream: a publication already delivered is skipped, a gap
 * (messages lost while the subscriber connection was down) is filled from history before the
 * publication that revealed it, and a new epoch or an unfillable gap is reported as `reset`.
 */
export class RedisStreamHistory implements StreamHistory {
  private readonly logger = new Logger(RedisStreamHistory.name);
  private readonly options: ResolvedStreamHistoryOptions;
  private readonly channel: string;
  private readonly listeners = new Set<StreamListener>();
  /** Last position delivered by the live feed, per stream; bounded like the streams. */
  private readonly delivered = new Map<string, StreamPosition>();
  /** Messages that arrived while a gap was being filled, in order; null when none is. */
  private backlog: string[] | null = null;
  private subscribed: Promise<void> | null = null;
  private closed = false;
  /** Barrier messages are `~<instance>:<n>`; a publication message starts with `{`, a batch with `*`. */
  private readonly barrierPrefix = `~${newEpoch()}${newEpoch()}:`;
  private barrierSeq = 0;
  /** Barrier token -> its waiters, until the token comes back through the channel. */
  private readonly barriers = new Map<string, { done: () => void; timer: NodeJS.Timeout }>();
  /** The barrier the current tick's `sync()` calls share; published at the end of the tick. */
  private nextBarrier: Promise<void> | null = null;
  private readonly onMessage = (message: string): void => this.receive(message);
  /** This tick's publications, in call order; sent at the end of the tick (or by `sync()`). */
  private pending: PendingPublication[] = [];
  private readonly syncTimeoutMs: number;
  private readonly batchStreams: number;
  private readonly batchChars: number;
  private readonly maxUnansweredStreams: number;
  /** Stream entries of the publications queued or sent and not yet answered. */
  private unanswered = 0;

  constructor(
    private readonly redis: RedisConnection,
    options: StreamHistoryOptions = {},
    limits: RedisStreamHistoryLimits = {},
  ) {
    this.options = resolveStreamHistoryOptions(options);
    this.channel = redis.key('streams', 'pub');
    this.syncTimeoutMs = limits.syncTimeoutMs ?? 5_000;
    this.batchStreams = limits.batchStreams ?? 256;
    this.batchChars = limits.batchChars ?? 1 << 20;
    this.maxUnansweredStreams = limits.maxUnansweredStreams ?? 100_000;
  }

  /** Subscribes to the cluster channel; call once before relying on the live feed (idempotent). */
  start(): Promise<void> {
    // Redis Streams (XADD MAXLEN, XRANGE by id) arrived in Redis 5.
    if (this.redis.serverVersion > 0 && this.redis.serverVersion < 5)
      return Promise.reject(new Error(`Stream history needs Redis 5 or later; this server is ${this.redis.serverVersion}.x`));
    this.subscribed ??= this.redis.sub.subscribe(this.channel, this.onMessage).catch((error: Error) => {
      this.subscribed = null; // a later start() tries again
      throw error;
    });
    return this.subscribed;
  }

  /**
   * Queued for the end of the tick: every publication of the tick goes out in one script call
   * (several when they exceed the limits), in call order, and each gets its own offsets. When the
   * call fails, every publication in it is rejected with its error.
   */
  async publish<E extends ServerEventName>(streams: readonly string[], event: E, payload: ServerEventPayloads[E]): Promise<PublishResult> {
    const names = checkStreams(streams, this.options.maxStreamsPerPublication);
    // Serialized once: the script stores and publishes this very text.
    const payloadJson = JSON.stringify(payload);
    if (payloadJson === undefined) throw new TypeError(`The payload of '${event}' cannot be serialized`);
    if (this.unanswered + names.length > this.maxUnansweredStreams) throw new Error('Too many publications are waiting for Redis (is it reachable?)');
    this.unanswered += names.length;
    const head = `{"ev":${JSON.stringify(event)},"t":${Date.now()}`;
    let chars = head.length + payloadJson.length;
    for (const name of names) chars += name.length;
    return new Promise<PublishResult>((resolve, reject) => {
      this.pending.push({ names, head, payloadJson, chars, resolve, reject });
      if (this.pending.length === 1) process.nextTick(this.flush);
    });
  }

  /** Sends the queued publications: consecutive runs within the limits, one script call each, all in this tick. */
  private readonly flush = (): void => {
    const queue = this.pending;
    if (queue.length === 0) return;
    this.pending = [];
    for (let from = 0; from < queue.length;) {
      let to = from + 1;
      let streams = queue[from]!.names.length;
      let chars = queue[from]!.chars;
      while (to < queue.length && streams + queue[to]!.names.length <= this.batchStreams && chars + queue[to]!.chars <= this.batchChars) {
        streams += queue[to]!.names.length;
        chars += queue[to]!.chars;
        to += 1;
      }
      void this.send(queue.slice(from, to));
      from = to;
    }
  };

  /** One script call for `batch`; the command is queued on the connection before this returns, so calls keep their order. */
  private async send(batch: PendingPublication[]): Promise<void> {
    const o = this.options;
    const keys: string[] = [];
    const args = [this.channel, String(o.historySize), String(o.historyTtlSeconds), String(o.metaTtlSeconds), newEpoch()];
    let streams = 0;
    for (const { names, head, payloadJson } of batch) {
      streams += names.length;
      args.push(head, payloadJson, String(names.length));
      for (const name of names) {
        keys.push(this.metaKey(name), this.historyKey(name));
        args.push(JSON.stringify(name));
      }
    }
    let offsets: number[];
    let epochs: string[];
    try {
      [offsets, epochs] = (await this.run(PUBLISH_SCRIPT, keys, args)) as [number[], string[]];
    } catch (error) {
      for (const publication of batch) publication.reject(error as Error);
      return;
    } finally {
      this.unanswered -= streams;
    }
    let k = 0;
    for (const { names, resolve } of batch) {
      const positions: Record<string, number> = {};
      const epoch: Record<string, string> = {};
      for (const name of names) {
        positions[name] = Number(offsets[k]);
        epoch[name] = epochs[k++]!;
      }
      resolve({ positions, epoch });
    }
  }

  async position(stream: string): Promise<StreamPosition> {
    return (await this.read(stream, 'position', 0)).position;
  }

  async recover(stream: string, since: StreamPosition): Promise<RecoverResult> {
    const valid = isStreamPosition(since);
    const { position, publications } = await this.read(stream, valid ? 'since' : 'position', valid ? since.offset : 0, valid ? since.epoch : '');
    return recoveryOf(stream, since, position, publications);
  }

  async latest(stream: string, n: number): Promise<LatestResult> {
    checkReplayCount(n);
    const result = await this.read(stream, 'latest', Math.min(n, this.options.historySize));
    result.publications.reverse();
    return result;
  }

  listen(listener: StreamListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * PUBLISHes a barrier token on the cluster channel after the call and waits for it to come
   * back: Redis delivers a channel's messages in order, so every publication made before it has
   * been fed through by then. Calls within one tick share one barrier; publications still queued
   * are sent first, on the same connection, so they come back before it.
   */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The stream history is closed'));
    this.nextBarrier ??= new Promise<void>((resolve, reject) => {
      process.nextTick(() => {
        this.nextBarrier = null;
        this.flush();
        const token = `${this.barrierPrefix}${++this.barrierSeq}`;
        const timer = setTimeout(() => {
          this.barriers.delete(token);
          reject(new Error('The live feed did not answer in time (is Redis reachable?)'));
        }, this.syncTimeoutMs);
        timer.unref();
        this.barriers.set(token, { done: resolve, timer });
        this.redis.client.publish(this.channel, token).catch((error: Error) => {
          clearTimeout(timer);
          this.barriers.delete(token);
          reject(new Error(`Could not reach the live feed: ${error.message}`));
        });
      });
    });
    return this.nextBarrier;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    for (const { timer } of this.barriers.values()) clearTimeout(timer);
    this.barriers.clear();
    if (this.subscribed) {
      await this.subscribed.catch(() => undefined);
      if (this.redis.sub.isOpen) await this.redis.sub.unsubscribe(this.channel, this.onMessage).catch(() => undefined);
    }
  }

  private metaKey(stream: string): string {
    return this.redis.key('streams', 'm', stream);
  }

  private historyKey(stream: string): string {
    return this.redis.key('streams', 'h', stream);
  }

  private async read(stream: string, mode: 'position' | 'since' | 'latest', argument: number, epoch = ''): Promise<LatestResult> {
    checkStream(stream);
    const [current, top, messages] = (await this.run(
      READ_SCRIPT,
      [this.metaKey(stream), this.historyKey(stream)],
      [mode, String(argument), newEpoch(), String(this.options.historyTtlSeconds), epoch],
    )) as [string, number, string[]];
    const publications: StreamPublication[] = [];
    for (const message of messages) {
      const publication = parseStreamMessage(message);
      if (publication) publications.push(publication);
    }
    return { publications, position: { epoch: current, offset: Number(top) } };
  }

  /** EVALSHA, loading the script on NOSCRIPT (first use, or after a Redis restart or SCRIPT FLUSH). */
  private async run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.redis.client.evalSha(script.sha, { keys, arguments: args });
    } catch (error) {
      if (!(error as Error).message?.startsWith('NOSCRIPT')) throw error;
      return this.redis.client.eval(script.source, { keys, arguments: args });
    }
  }

  // ---- live feed ---------------------------------------------------------------------------

  private receive(message: string): void {
    if (this.closed) return;
    // A batch is its publications in order; each is checked for gaps on its own.
    for (const one of splitBatch(message)) this.receiveOne(one);
  }

  private receiveOne(message: string): void {
    if (this.closed) return;
    if (this.backlog) {
      this.backlog.push(message);
      return;
    }
    const publication = this.accept(message);
    if (!publication) return;
    const gaps = this.inspect(publication);
    if (gaps === null) return;
    if (gaps.length === 0) return this.deliver(publication);
    this.backlog = [];
    void this.catchUp(publication, gaps);
  }

  /** A publication to inspect, or null for a barrier (answered here, in feed order) or a malformed message. */
  private accept(message: string): StreamPublication | null {
    if (message.startsWith('~')) {
      const barrier = this.barriers.get(message);
      if (barrier) {
        this.barriers.delete(message);
        clearTimeout(barrier.timer);
        barrier.done();
      }
      return null;
    }
    const publication = parseStreamMessage(message);
    if (!publication) this.logger.warn('Dropped a malformed stream message');
    return publication;
  }

  /**
   * Compares a live publication with what was delivered: null when it was delivered already,
   * else the streams with a gap before it (empty: deliver it now). A new epoch is a reset.
   */
  private inspect(publication: StreamPublication): string[] | null {
    const gaps: string[] = [];
    for (const stream in publication.positions) {
      const offset = publication.positions[stream]!;
      const epoch = publication.epoch[stream]!;
      const seen = this.delivered.get(stream);
      if (!seen) continue;
      if (seen.epoch !== epoch) {
        this.delivered.set(stream, { epoch, offset: offset - 1 });
        this.notifyReset(stream, { epoch, offset: offset - 1 });
      } else if (offset <= seen.offset) return null;
      else if (offset > seen.offset + 1) gaps.push(stream);
    }
    return gaps;
  }

  /** Fills the gaps before `publication` from history, delivers it, then works through the backlog. */
  private async catchUp(publication: StreamPublication, gaps: string[]): Promise<void> {
    try {
      let next: StreamPublication | null = publication;
      let nextGaps = gaps;
      while (next) {
        if (nextGaps.length > 0) await this.fill(next, nextGaps);
        if (this.closed) return;
        this.deliver(next);
        next = null;
        while (!next && this.backlog!.length > 0) {
          const candidate = this.accept(this.backlog!.shift()!);
          if (!candidate) continue;
          const found = this.inspect(candidate);
          if (found === null) continue;
          if (found.length === 0) this.deliver(candidate);
          else [next, nextGaps] = [candidate, found];
        }
      }
    } finally {
      this.backlog = null;
    }
  }

  private async fill(publication: StreamPublication, gaps: string[]): Promise<void> {
    for (const stream of gaps) {
      const seen = this.delivered.get(stream)!;
      const until = publication.positions[stream]!;
      let result: RecoverResult;
      try {
        result = await this.recover(stream, seen);
      } catch (error) {
        this.logger.warn(`Could not fill a gap in stream '${stream}': ${(error as Error).message}`);
        result = { recovered: false, publications: [], position: seen };
      }
      if (!result.recovered) {
        this.delivered.set(stream, { epoch: publication.epoch[stream]!, offset: until - 1 });
        this.notifyReset(stream, { epoch: publication.epoch[stream]!, offset: until - 1 });
        continue;
      }
      for (const missed of result.publications) {
        if (missed.positions[stream]! >= until) break;
        const more = this.inspect(missed);
        if (more === null) continue;
        // A lost publication may also have left a gap in another of its streams.
        if (more.length > 0) await this.fill(missed, more);
        this.deliver(missed);
      }
    }
  }

  private deliver(publication: StreamPublication): void {
    for (const stream in publication.positions) {
      this.delivered.delete(stream);
      this.delivered.set(stream, { epoch: publication.epoch[stream]!, offset: publication.positions[stream]! });
    }
    // Bounded: the least recently published stream is forgotten first (its next gap goes unnoticed
    // on this instance only; its clients' own positions still catch it on their next recovery).
    if (this.delivered.size > this.options.maxStreams) {
      for (const stream of this.delivered.keys()) {
        if (this.delivered.size <= this.options.maxStreams) break;
        this.delivered.delete(stream);
      }
    }
    for (const listener of this.listeners) {
      try {
        listener.publication(publication);
      } catch (error) {
        this.logger.error(`A stream listener failed on '${publication.event}': ${(error as Error).message}`);
      }
    }
  }

  private notifyReset(stream: string, position: StreamPosition): void {
    for (const listener of this.listeners) {
      try {
        listener.reset(stream, position);
      } catch (error) {
        this.logger.error(`A stream listener failed on the reset of '${stream}': ${(error as Error).message}`);
      }
    }
  }
}
