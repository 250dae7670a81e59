import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { ReadingPayload } from '#contracts';
import { InMemoryStreamHistory } from './in-memory-stream-history.js';
import { StreamPublication, type StreamHistory, type StreamPosition } from './stream-history.js';
import { JoinError, StreamJoiner, type JoinResult, type JoinTarget } from './stream-joiner.js';

const reading = (value: number): ReadingPayload => ({ sensorId: 's1', metric: 't', value, ts: value });
/** Publication `offset` of `readings` after its history was lost (value 100 + offset). */
const fromNewEpoch = (offset: number) => StreamPublication.fromValue('reading:new', reading(100 + offset), 0, { readings: offset }, { readings: 'new-epoch' });

/** A subscriber that records what it got, and a tiny hub that delivers live publications to attached ones. */
class Subscriber implements JoinTarget {
  readonly log: string[] = [];
  readonly got: StreamPublication[] = [];
  attached = false;
  constructor(
    readonly streams: string[],
    private readonly skip: (p: StreamPublication) => boolean = () => false,
  ) {}
  ready(result: JoinResult): void {
    this.log.push(`ready:${result.recovered}:${result.position.offset}`);
  }
  deliver(publication: StreamPublication): void {
    this.log.push(`deliver:${(publication.payload as ReadingPayload).value}`);
    this.got.push(publication);
  }
  attach(): void {
    this.log.push('attach');
    this.attached = true;
  }
  alreadyHas(publication: StreamPublication): boolean {
    return this.skip(publication);
  }
  values(): number[] {
    return this.got.map((p) => (p.payload as ReadingPayload).value);
  }
}

/** The in-memory store with a hook that runs between the history read and the rest of the join. */
class Interleaved implements StreamHistory {
  meanwhile: (() => Promise<void>) | null = null;
  syncFails = false;
  constructor(readonly inner: InMemoryStreamHistory) {}
  publish: StreamHistory['publish'] = (...args) => this.inner.publish(...args);
  position = async (stream: string) => this.after(await this.inner.position(stream));
  recover = async (stream: string, since: StreamPosition) => this.after(await this.inner.recover(stream, since));
  latest = async (stream: string, n: number) => this.after(await this.inner.latest(stream, n));
  listen: StreamHistory['listen'] = (listener) => this.inner.listen(listener);
  sync = async () => {
    if (this.syncFails) throw new Error('feed down');
  };
  close = () => this.inner.close();
  private async after<T>(value: T): Promise<T> {
    const hook = this.meanwhile;
    this.meanwhile = null;
    if (hook) await hook();
    return value;
  }
}

describe('StreamJoiner', () => {
  let history: Interleaved;
  let joiner: StreamJoiner;
  let subscribers: Subscriber[];
  const publish = async (from: number, to: number, streams = ['readings']) => {
    for (let i = from; i <= to; i++) await history.publish(streams, 'reading:new', reading(i));
  };

  beforeEach(() => {
    history = new Interleaved(new InMemoryStreamHistory({ historySize: 50 }, Date.now, { sweepIntervalMs: null }));
    joiner = new StreamJoiner(history, { maxBuffered: 20 });
    subscribers = [];
    // The hub's live delivery: every attached subscriber of a stream of the publication, once.
    history.listen({
      publication: (p) => {
        for (const s of subscribers) if (s.attached && s.streams.some((stream) => stream in p.positions)) s.deliver(p);
      },
      reset: () => undefined,
    });
  });
  afterEach(async () => {
    joiner.close();
    await history.close();
  });

  const subscriber = (streams = ['readings'], skip?: (p: StreamPublication) => boolean) => {
    const s = new Subscriber(streams, skip);
    subscribers.push(s);
    return s;
  };

  it('acks, delivers what was missed in order, then attaches; later publications arrive once, live', async () => {
    await publish(1, 5);
    const { epoch } = await history.position('readings');
    const s = subscriber();
    expect(await joiner.join('readings', { since: { epoch, offset: 2 } }, s)).toEqual({ recovered: true, position: { epoch, offset: 5 } });
    await publish(6, 7);
    expect(s.log).toEqual(['ready:true:5', 'deliver:3', 'deliver:4', 'deliver:5', 'attach', 'deliver:6', 'deliver:7']);
    expect(joiner.joining).toBe(0);
  });

  it('loses and repeats nothing published while the join reads history (the seam)', async () => {
    await publish(1, 5);
    const { epoch } = await history.position('readings');
    const s = subscriber();
    history.meanwhile = () => publish(6, 9);
    const result = await joiner.join('readings', { since: { epoch, offset: 3 } }, s);
    await publish(10, 11);
    expect(result).toEqual({ recovered: true, position: { epoch, offset: 5 } });
    expect(s.values()).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(s.log.slice(0, 8)).toEqual(['ready:true:5', 'deliver:4', 'deliver:5', 'deliver:6', 'deliver:7', 'deliver:8', 'deliver:9', 'attach']);
  });

  it('with recovered: false replays nothing from history but still delivers what was published during the join', async () => {
    await publish(1, 3);
    const s = subscriber();
    history.meanwhile = () => publish(4, 4);
    expect(await joiner.join('readings', { since: { epoch: 'gone', offset: 2 } }, s)).toEqual({
      recovered: false,
      position: { epoch: expect.any(String), offset: 3 },
    });
    expect(s.log).toEqual(['ready:false:3', 'deliver:4', 'attach']);
  });

  it('replays the last N after the ack, and the ack without since or replay carries the position only', async () => {
    await publish(1, 6);
    const replayed = subscriber();
    await joiner.join('readings', { replay: 2 }, replayed);
    expect(replayed.log).toEqual(['ready:false:6', 'deliver:5', 'deliver:6', 'attach']);
    const plain = subscriber();
    history.meanwhile = () => publish(7, 7);
    await joiner.join('readings', {}, plain);
    expect(plain.log).toEqual(['ready:false:6', 'deliver:7', 'attach']);
  });

  it('skips what the subscriber already got through another of its streams', async () => {
    await publish(1, 2, ['readings', 'sensor:s1']);
    const { epoch } = await history.position('sensor:s1');
    // It holds `readings` already and got publication 2 through it.
    const s = subscriber(['readings', 'sensor:s1'], (p) => p.positions.readings === 2);
    await joiner.join('sensor:s1', { since: { epoch, offset: 0 } }, s);
    expect(s.values()).toEqual([1]);
  });

  it('refuses malformed requests before reading anything', async () => {
    const s = subscriber();
    for (const request of [{ since: { epoch: '', offset: 1 } }, { since: { epoch: 'e', offset: -1 } }, { replay: 0 }, { replay: 101 }, { replay: 1.5 }]) {
      await expect(joiner.join('readings', request as never, s)).rejects.toBeInstanceOf(JoinError);
    }
    expect(s.log).toEqual([]);
    expect(joiner.joining).toBe(0);
  });

  it('fails the join, delivering and attaching nothing, when the live feed does not answer or the stream outruns the buffer', async () => {
    const s = subscriber();
    history.syncFails = true;
    await expect(joiner.join('readings', {}, s)).rejects.toThrow(/Could not join stream 'readings': feed down/);
    history.syncFails = false;
    history.meanwhile = () => publish(1, 25); // the buffer holds 20
    await expect(joiner.join('readings', {}, s)).rejects.toThrow(/moved too fast/);
    expect(s.log).toEqual([]);
    expect(joiner.joining).toBe(0);
  });

  describe('joins that arrive together (a reconnect storm)', () => {
    it('share one history read for the same stream and since, and each member gets the ack, the replay in order, then live, exactly once', async () => {
      await publish(1, 6);
      const { epoch } = await history.position('readings');
      const reads: string[] = [];
      const recover = history.recover;
      history.recover = async (stream, since) => {
        reads.push(`${stream}@${since.offset}`);
        return recover(stream, since);
      };
      const groups: number[] = [];
      joiner.close();
      joiner = new StreamJoiner(history, {
        maxBuffered: 20,
        deliverToGroup: (p, targets) => {
          groups.push(targets.length);
          for (const target of targets) target.deliver(p);
        },
      });
      const same = [subscriber(), subscriber(), subscriber()];
      const other = subscriber();
      history.meanwhile = () => publish(7, 7);
      await Promise.all([
        ...same.map((s) => joiner.join('readings', { since: { epoch, offset: 3 } }, s)),
        joiner.join('readings', { since: { epoch, offset: 5 } }, other),
      ]);
      await publish(8, 8);
      expect(reads.sort()).toEqual(['readings@3', 'readings@5']);
      for (const s of same) expect(s.log).toEqual(['ready:true:6', 'deliver:4', 'deliver:5', 'deliver:6', 'deliver:7', 'attach', 'deliver:8']);
      expect(other.log).toEqual(['ready:true:6', 'deliver:6', 'deliver:7', 'attach', 'deliver:8']);
      // One call per publication for the three (4, 5, 6, 7), one for the other (6, 7).
      expect(groups.sort()).toEqual([1, 1, 3, 3, 3, 3]);
      expect(joiner.joining).toBe(0);
    });

    it('delivers to as many members per turn as the budget allows, the others getting what was published meanwhile from the buffer: nothing lost or repeated', async () => {
      await publish(1, 10);
      const { epoch } = await history.position('readings');
      joiner.close();
      // 10 publications each: one member a turn.
      joiner = new StreamJoiner(history, { maxBuffered: 20, deliveriesPerTurn: 35 });
      const members = [subscriber(), subscriber(), subscriber()];
      const joined = Promise.all(members.map((s) => joiner.join('readings', { since: { epoch, offset: 0 } }, s)));
      while (!members[0]!.attached) await new Promise((resolve) => setImmediate(resolve));
      const waiting = members.slice(1).map((s) => s.log.length);
      await publish(11, 13);
      await joined;
      await publish(14, 14);
      expect(waiting).toEqual([0, 0]);
      const all = Array.from({ length: 14 }, (_, i) => i + 1);
      for (const s of members) expect(s.values()).toEqual(all);
      // The first got 11-13 live, the others from the buffer before they were attached.
      expect(members.map((s) => s.log.indexOf('attach'))).toEqual([11, 14, 14]);
    });

    it('takes a newcomer with the same since while members still wait: no second read, and it gets everything after since once', async () => {
      await publish(1, 10);
      const { epoch } = await history.position('readings');
      let reads = 0;
      const recover = history.recover;
      history.recover = async (stream, since) => {
        reads += 1;
        return recover(stream, since);
      };
      joiner.close();
      joiner = new StreamJoiner(history, { maxBuffered: 20, deliveriesPerTurn: 35 });
      const since = { epoch, offset: 0 };
      const [first, second] = [subscriber(), subscriber()];
      const joined = [joiner.join('readings', { since }, first), joiner.join('readings', { since }, second)];
      while (!first.attached) await new Promise((resolve) => setImmediate(resolve));
      await publish(11, 11);
      const late = subscriber();
      joined.push(joiner.join('readings', { since }, late));
      await Promise.all(joined);
      await publish(12, 12);
      expect(reads).toBe(1);
      const all = Array.from({ length: 12 }, (_, i) => i + 1);
      for (const s of [first, second, late]) expect(s.values()).toEqual(all);
      // After the group is done, the same since reads history again.
      await joiner.join('readings', { since }, subscriber());
      expect(reads).toBe(2);
    });

    it('answers recovered: false at the new position to the members still waiting when the stream is reset', async () => {
      await publish(1, 3);
      const { epoch } = await history.position('readings');
      joiner.close();
      joiner = new StreamJoiner(history, { maxBuffered: 20, deliveriesPerTurn: 25 });
      const [early, late] = [subscriber(), subscriber()];
      const joined = Promise.all([early, late].map((s) => joiner.join('readings', { since: { epoch, offset: 0 } }, s)));
      while (!early.attached) await new Promise((resolve) => setImmediate(resolve));
      joiner.reset('readings', { epoch: 'new-epoch', offset: 0 });
      joiner.publication(fromNewEpoch(1));
      const results = await joined;
      expect(results[1]).toEqual({ recovered: false, position: { epoch: 'new-epoch', offset: 0 } });
      expect(early.log).toEqual(['ready:true:3', 'deliver:1', 'deliver:2', 'deliver:3', 'attach']);
      expect(late.log).toEqual(['ready:false:0', 'deliver:101', 'attach']);
    });
  });

  it('answers recovered: false when the stream is reset while the join reads, and delivers only what follows the reset', async () => {
    await publish(1, 3);
    const { epoch } = await history.position('readings');
    const s = subscriber();
    history.meanwhile = async () => {
      joiner.reset('readings', { epoch: 'new-epoch', offset: 0 });
    };
    expect(await joiner.join('readings', { since: { epoch, offset: 1 } }, s)).toEqual({ recovered: false, position: { epoch: 'new-epoch', offset: 0 } });
    expect(s.log).toEqual(['ready:false:0', 'attach']);
  });
});
