import { describe, expect, it } from '@jest/globals';
import { batchMemory, connections, fanout, ingest, mqttMemory, perUser, reconnectStorm, type Run } from '../bench/lib/scenarios.js';
import { startMemory, storageFanout, storageQuery, storageSustained, writerAlone } from '../bench/lib/storage.js';
import { benchDatabase, cleanRunEnv, runEnv, startTarget, type TargetKind } from '../bench/lib/targets.js';

/** No speed is asserted here: the fan-out knee is taken on loss alone, since a loaded test machine may take over 100 ms for a delivery. */
const NO_LATENCY_LIMIT = { p99LimitMs: Infinity };

/** Every benchmark scenario at tiny sizes against each target, so the bench code cannot rot. */
async function withTargets(kind: TargetKind, body: (run: Run) => Promise<void>, { instances = 1 } = {}): Promise<void> {
  const unique = `bench-smoke-${process.pid}-${Date.now()}-${kind}`;
  const mqttUrl = 'mqtt://127.0.0.1:1883';
  const database = instances > 1 ? await benchDatabase(unique) : undefined;
  const env = runEnv(unique, mqttUrl, instances > 1 ? 'redis://127.0.0.1:6379' : undefined, database?.url);
  try {
    const targets = await Promise.all(Array.from({ length: instances }, () => startTarget(kind, env)));
    try {
      await body({ target: targets[0]!, targets, mqttUrl, prefix: env['MQTT_TOPIC_PREFIX']! });
    } finally {
      await Promise.all(targets.map((target) => target.stop()));
    }
  } finally {
    cleanRunEnv(env);
    await database?.drop();
  }
}

describe.each<TargetKind>(['gateway', 'socketio-peer'])('benchmark scenarios against %s (smoke)', (kind) => {
  it('S1 connections, S2 fan-out, S3 ingest and S4 per-user run and lose nothing at tiny sizes', async () => {
    await withTargets(kind, async (run) => {
      const s1 = await connections(run, 20);
      expect(s1.handshakesPerSecond).toBeGreaterThan(0);
      expect(Number.isFinite(s1.rssPerConnectionBytes)).toBe(true);

      const s2 = await fanout(run, 'socketio', 5, [10], 0.5, NO_LATENCY_LIMIT);
      expect(s2.steps[0]).toMatchObject({ rate: 10, lossRatio: 0 });
      expect(s2.knee).toBe(10);
      expect(s2.atHalfKnee?.lossRatio).toBe(0);

      // The batching scenario: the gateway delivers reading:batch, the peer (no batching) reading:new; both must count every reading.
      const batched = await fanout(run, 'socketio', 5, [20], 0.5, { ...NO_LATENCY_LIMIT, batchMs: 50 });
      expect(batched.steps[0]).toMatchObject({ rate: 20, lossRatio: 0 });
      expect(batched.atKnee?.rate).toBe(20);

      for (const qos of [0, 1] as const) expect((await ingest(run, 3, 100, qos)).lossRatio).toBe(0);
      expect((await perUser(run, 10, 2)).lossRatio).toBe(0);
    });
  });
});

describe.each<TargetKind>(['gateway', 'ws-peer'])('plain WebSocket fan-out against %s (smoke)', (kind) => {
  it('S5 runs and loses nothing at a tiny size', async () => {
    await withTargets(kind, async (run) => {
      const s5 = await fanout(run, 'ws', 5, [10], 0.5, NO_LATENCY_LIMIT);
      expect(s5.knee).toBe(10);
    });
  });
});

describe.each<TargetKind>(['gateway', 'socketio-peer'])('two instances on Redis, %s (smoke)', (kind) => {
  it('S2 and S4 across two instances deliver everything to sockets on both', async () => {
    await withTargets(
      kind,
      async (run) => {
        const s2 = await fanout(run, 'socketio', 6, [10], 0.5, NO_LATENCY_LIMIT);
        expect(s2.steps[0]).toMatchObject({ rate: 10, lossRatio: 0 });
        expect((await perUser(run, 10, 2)).lossRatio).toBe(0);
      },
      { instances: 2 },
    );
  });
});

describe('memory scenarios against the gateway (smoke)', () => {
  const bounds = { maxSeconds: 30, maxRssBytes: 2 ** 31 };

  it('memory-mqtt counts every reading, with SENSOR_AUTO_REGISTER on and off, and memory-batching completes every pair', async () => {
    const mqttUrl = 'mqtt://127.0.0.1:1883';
    for (const register of ['true', 'false']) {
      const unique = `bench-smoke-${process.pid}-${Date.now()}-memory-${register}`;
      // A bound of 20 sensors, so that 300 readings reach it and the second flood runs.
      const env: Record<string, string> = { ...runEnv(unique, mqttUrl), SENSOR_AUTO_REGISTER: register, MAX_SENSORS: '20' };
      const target = await startTarget('gateway', env, [], { inspect: true });
      try {
        const again = register === 'true';
        const result = await mqttMemory({ target, targets: [target], mqttUrl, prefix: env['MQTT_TOPIC_PREFIX']! }, 300, bounds, { again });
        // Accepted or rejected, every reading is counted once; none is lost or double-counted.
        expect(result).toMatchObject({ sent: 300, processed: 300, stoppedEarly: null });
        expect(result.second).toEqual(again ? expect.objectContaining({ sent: 300, processed: 300, stoppedEarly: null }) : null);
        expect(Number.isFinite(result.rssAfterBytes - result.rssBeforeBytes) && Number.isFinite(result.heapAfterBytes - result.heapBeforeBytes)).toBe(true);
      } finally {
        await target.stop();
        cleanRunEnv(env);
      }
    }

    const unique = `bench-smoke-${process.pid}-${Date.now()}-batching`;
    const env = runEnv(unique, mqttUrl);
    const target = await startTarget('gateway', env, [], { inspect: true });
    try {
      const result = await batchMemory({ target, targets: [target], mqttUrl, prefix: env['MQTT_TOPIC_PREFIX']! }, 100, bounds, 2, 5);
      expect(result).toMatchObject({ pairs: 100, refused: 0, stoppedEarly: null });
    } finally {
      await target.stop();
      cleanRunEnv(env);
    }
  }, 90_000);
});

describe('storage scenarios against the gateway on PostgreSQL (smoke)', () => {
  it('storage-ingest and storage-sustained write every reading they fan out, storage-query answers 24 buckets, storage-rss and the writer alone run', async () => {
    const mqttUrl = 'mqtt://127.0.0.1:1883';
    const unique = `bench-smoke-${process.pid}-${Date.now()}-storage`;
    const database = await benchDatabase(unique);
    const env = runEnv(unique, mqttUrl, undefined, database.url);
    try {
      const target = await startTarget('gateway', env, [], { inspect: true });
      let rows: number;
      try {
        const run: Run = { target, targets: [target], mqttUrl, prefix: env['MQTT_TOPIC_PREFIX']! };
        const fan = await storageFanout(run, database.url, 5, [20], 0.5, NO_LATENCY_LIMIT);
        expect(fan.steps[0]).toMatchObject({ rate: 20, lossRatio: 0, writtenRatio: 1 });
        expect(fan.rows).toBe(fan.published);
        const sustained = await storageSustained(run, database.url, 5, [50], 0.5);
        expect(sustained.steps[0]).toMatchObject({ rate: 50, lossRatio: 0, writtenRatio: 1 });
        expect(sustained.rows).toBe(fan.published + sustained.published);
        expect((await startMemory(run)).rssBytes).toBeGreaterThan(0);
        const query = await storageQuery(run, database.url, 20_000, 2);
        expect(query.rows).toBe(sustained.rows + 20_000);
        expect(query.series.dense.rows).toBe(5_000);
        rows = query.rows;
      } finally {
        await target.stop();
      }
      const alone = await writerAlone(database.url, 1);
      expect(alone.accepted).toBeGreaterThan(0);
      expect(alone).toMatchObject({ dropped: 0, rows: rows + alone.accepted });
    } finally {
      cleanRunEnv(env);
      await database.drop();
    }
  }, 90_000);
});

describe('reconnect storm against the gateway (smoke)', () => {
  it('brings every socket back with every missed event, and reads the event-loop stall', async () => {
    await withTargets('gateway', async (run) => {
      const result = await reconnectStorm(run, 20, 10);
      expect(result.recovered).toBe(20);
      expect(Number.isFinite(result.maxStallMs) && Number.isFinite(result.seconds)).toBe(true);
    });
  }, 90_000);
});
