/**
 * `node dist/bench/heap-profile.js [gateway|socketio-peer] [sockets] [--sites]`: where the memory of
 * idle connections goes. Starts the target with its inspector, opens `sockets` authenticated sockets
 * under V8's sampling heap profiler, forces a GC and prints the live bytes per connection by who
 * made them: the gateway's own files, or the library (Node core objects are charged to their caller).
 * `--sites` prints the allocating lines instead (innermost function outside Node's core, file:line).
 */
import { Inspector } from './lib/inspector.js';
import { LeanSocketIo } from './lib/lean-clients.js';
import { token } from './lib/scenarios.js';
import { runEnv, startTarget, type TargetKind } from './lib/targets.js';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const kind = (positional[0] ?? 'gateway') as TargetKind;
const count = Number(positional[1] ?? 4000);
const bySite = process.argv.includes('--sites');

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
  const target = await startTarget(kind, runEnv(`heap-profile-${process.pid}`, 'mqtt://127.0.0.1:1883'), [], { inspect: true });
  const inspector = await Inspector.attach(target.inspectPort!);
  const sockets: LeanSocketIo[] = [];
  try {
    await inspector.liveHeapBytes();
    await inspector.call('HeapProfiler.startSampling', { samplingInterval: 256 });
    for (let i = 0; i < count; i += 200) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(200, count - i) }, (_, k) => LeanSocketIo.connect(target.url, token(`u${i + k}`))))));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
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
    console.log(`${kind}: ${count} idle sockets, sampled live heap ${(total / count).toFixed(0)} bytes/connection`);
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
