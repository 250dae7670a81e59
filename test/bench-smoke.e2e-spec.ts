import { describe, expect, it } from '@jest/globals';
import { connections, fanout, ingest, perUser, type Run } from '../bench/lib/scenarios.js';
import { startTarget, type TargetKind } from '../bench/lib/targets.js';

/** Every benchmark scenario at tiny sizes against each target, so the bench code cannot rot. No speed is asserted. */
async function withTarget(kind: TargetKind, body: (run: Run) => Promise<void>): Promise<void> {
  const prefix = `bench-smoke-${process.pid}-${Date.now()}-${kind}/`;
  const mqttUrl = 'mqtt://127.0.0.1:1883';
  const target = await startTarget(kind, kind === 'gateway' ? { MQTT_URL: mqttUrl, MQTT_TOPIC_PREFIX: prefix } : { MQTT_URL: mqttUrl, TOPIC_PREFIX: prefix });
  try {
    await body({ target, mqttUrl, prefix });
  } finally {
    await target.stop();
  }
}

describe.each<TargetKind>(['gateway', 'socketio-peer'])('benchmark scenarios against %s (smoke)', (kind) => {
  it('S1 connections, S2 fan-out, S3 ingest and S4 per-user run and lose nothing at tiny sizes', async () => {
    await withTarget(kind, async (run) => {
      const s1 = await connections(run, 20);
      expect(s1.handshakesPerSecond).toBeGreaterThan(0);
      expect(Number.isFinite(s1.rssPerConnectionBytes)).toBe(true);

      const s2 = await fanout(run, 'socketio', 5, [10], 0.5);
      expect(s2.steps[0]).toMatchObject({ rate: 10, lossRatio: 0 });
      expect(s2.knee).toBe(10);
      expect(s2.atHalfKnee?.lossRatio).toBe(0);

      for (const qos of [0, 1] as const) expect((await ingest(run, 3, 100, qos)).lossRatio).toBe(0);
      expect((await perUser(run, 10, 2)).lossRatio).toBe(0);
    });
  });
});

describe.each<TargetKind>(['gateway', 'ws-peer'])('plain WebSocket fan-out against %s (smoke)', (kind) => {
  it('S5 runs and loses nothing at a tiny size', async () => {
    await withTarget(kind, async (run) => {
      const s5 = await fanout(run, 'ws', 5, [10], 0.5);
      expect(s5.knee).toBe(10);
    });
  });
});
