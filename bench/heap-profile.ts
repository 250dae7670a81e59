/**
 * `node dist/bench/heap-profile.js [gateway|socketio-peer] [sockets] [--sites]`: where the memory of
 * idle connections goes. Starts the target with its inspector, opens `sockets` authenticated sockets
 * under V8's sampling heap profiler, forces a GC and prints the live bytes per connection by who
 * made them: the gateway's own files, or the library (Node core objects are charged to their caller).
 * `--sites` prints the allocating lines instead (innermost function outside Node's core, file:line).
 * `--mqtt=N` profiles the memory-mqtt flood instead of sockets: N readings to random sensor ids and
 * metrics (`--auto-register=false` to refuse unknown sensors), bytes per admitted series.
 */
import { Inspector } from './lib/inspector.js';
import { LeanSocketIo } from './lib/lean-clients.js';
import { mqttMemory, token } from './lib/scenarios.js';
import { runEnv, startTarget, type TargetKind } from './lib/targets.js';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const kind = (positional[0] ?? 'gateway') as TargetKind;
const connections = Number(positional[1] ?? 4000);
const bySite = process.argv.includes('--sites');
const option = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
const mqttMessages = Number(option('mqtt') ?? 0);
const autoRegister = option('auto-register') ?? 'true';

type CallFrame = ProfileNode['callFrame'];

/** Who made an object: the innermost frame outside Node's core (core objects are charged to their caller). */
function owner(stack: CallFrame[]): string {
  const frame = [...stack].reverse().find(({ url }) => url !== '' && !url.startsWith('node:'));
  if (!frame) return stack.some(({ url }) => url.startsWith('node:')) ? 'node core' : 'v8 / native';
  const file = frame.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\/(?:libs\/)?/, '');
  if (bySite) return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
  if (/\/dist\/(libs|src)\//.test(frame.url)) return `gateway: ${file.replace(/\.js$/, '')}`;
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)?.[1] ?? file;
}

async function main(): Promise<void> {
  const unique = `heap-profile-${process.pid}`;
  const mqttUrl = 'mqtt://127.0.0.1:1883';
  const target = await startTarget(kind, { ...runEnv(unique, mqttUrl), SENSOR_AUTO_REGISTER: autoRegister }, [], { inspect: true });
  const inspector = await Inspector.attach(target.inspectPort!);
  const sockets: LeanSocketIo[] = [];
  let count = connections;
  let unit = 'connection';
  try {
    await inspector.liveHeapBytes();
    // A finer interval slows the flood enough that the target starts resetting HTTP connections.
    await inspector.call('HeapProfiler.startSampling', { samplingInterval: mqttMessages > 0 ? 4096 : 256 });
    if (mqttMessages > 0) {
      const run = { target, targets: [target], mqttUrl, prefix: `${unique}/` };
      const result = await mqttMemory(run, mqttMessages, { maxSeconds: 1200, maxRssBytes: 3 * 2 ** 30 });
      const refused = Object.values(result.rejected).reduce((a, b) => a + b, 0);
      count = Math.max(1, result.processed - refused);
      unit = 'admitted reading';
      console.log(
        `${result.processed} readings, ${count} admitted; RSS +${((result.rssAfterBytes - result.rssBeforeBytes) / 2 ** 20).toFixed(1)} MB, live heap +${((result.heapAfterBytes - result.heapBeforeBytes) / 2 ** 20).toFixed(1)} MB`,
      );
    } else {
      for (let i = 0; i < count; i += 200) {
        sockets.push(...(await Promise.all(Array.from({ length: Math.min(200, count - i) }, (_, k) => LeanSocketIo.connect(target.url, token(`u${i + k}`))))));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await inspector.call('HeapProfiler.collectGarbage');
    const { profile } = (await inspector.call('HeapProfiler.getSamplingProfile')) as { profile: { head: ProfileNode } };
    const byOwner = new Map<string, number>();
    const walk = (node: ProfileNode, stack: CallFrame[]): void => {
      const here = [...stack, node.callFrame];
      if (node.selfSize > 0) byOwner.set(owner(here), (byOwner.get(owner(here)) ?? 0) + node.selfSize);
      for (const child of node.children) walk(child, here);
    };
    walk(profile.head, []);
    const total = [...byOwner.values()].reduce((sum, bytes) => sum + bytes, 0);
    console.log(`${kind}: ${count} ${mqttMessages > 0 ? 'admitted readings' : 'idle sockets'}, sampled live heap ${(total / count).toFixed(0)} bytes/${unit}`);
    for (const [name, bytes] of [...byOwner].sort((a, b) => b[1] - a[1]))
      if (bytes / count >= 20) console.log(`${(bytes / count).toFixed(0).padStart(7)}  ${name}`);
  } finally {
    inspector.close();
    sockets.forEach((socket) => socket.close());
    await target.stop();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
