import { WebSocket } from 'ws';

/**
 * The V8 inspector of a target started with `--inspect=127.0.0.1:<port>`: lets the load generator
 * force a full GC and read the heap, so memory per connection is measured on live objects rather
 * than on whatever garbage the target had not collected yet.
 */
export class Inspector {
  private nextId = 0;
  private readonly pending = new Map<number, (result: any) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
      if (message.id === undefined) return;
      this.pending.get(message.id)?.(message.result);
      this.pending.delete(message.id);
    });
  }

  static async attach(port: number): Promise<Inspector> {
    const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
    const ws = new WebSocket(target!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new Inspector(ws);
  }

  call(method: string, params: object = {}): Promise<any> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Full GC, then the bytes of live heap. */
  async liveHeapBytes(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    const { result } = await this.call('Runtime.evaluate', { expression: 'process.memoryUsage().heapUsed', returnByValue: true });
    return Number(result.value);
  }

  close(): void {
    this.ws.close();
  }
}
