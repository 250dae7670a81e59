import { WebSocket } from 'ws';

/**
 * A lean Socket.IO v4 client over `ws` (Engine.IO 4 framing, no reconnection or buffering), so the
 * load generator can hold thousands of sockets on one core and the server stays the bottleneck.
 */
export class LeanSocketIo {
  private acks = new Map<number, (reply: unknown) => void>();
  private nextAck = 0;
  onEvent: (event: string, payload: any) => void = () => undefined;

  private constructor(private readonly ws: WebSocket) {}

  static connect(httpUrl: string, token: string, path = '/socket.io/'): Promise<LeanSocketIo> {
    const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}${path}?EIO=4&transport=websocket`, { perMessageDeflate: false });
    const socket = new LeanSocketIo(ws);
    return new Promise((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data) => {
        const text = data.toString();
        const type = text[0];
        if (type === '0') return ws.send(`40${JSON.stringify({ token })}`);
        if (type === '2') return ws.send('3');
        if (text.startsWith('40')) return resolve(socket);
        if (text.startsWith('44')) return reject(new Error(`connect_error ${text.slice(2)}`));
        if (text.startsWith('42')) {
          const [event, payload] = JSON.parse(text.slice(2)) as [string, unknown];
          return socket.onEvent(event, payload);
        }
        if (text.startsWith('43')) {
          const bracket = text.indexOf('[');
          const id = Number(text.slice(2, bracket));
          socket.acks.get(id)?.((JSON.parse(text.slice(bracket)) as unknown[])[0]);
          socket.acks.delete(id);
        }
      });
    });
  }

  emitWithAck(event: string, payload: unknown): Promise<any> {
    const id = this.nextAck++;
    return new Promise((resolve) => {
      this.acks.set(id, resolve);
      this.ws.send(`42${id}${JSON.stringify([event, payload])}`);
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A plain WebSocket subscriber of the gateway's `/ws` (or the ws peer). */
export function connectPlainWs(
  httpUrl: string,
  token: string,
  topics: string[],
  path = '/ws',
): Promise<{ ws: WebSocket; onEvent: (cb: (message: any) => void) => void }> {
  const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}${path}?token=${token}&topics=${topics.join(',')}`, { perMessageDeflate: false });
  let callback: (message: any) => void = () => undefined;
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.once('message', () => resolve({ ws, onEvent: (cb) => (callback = cb) }));
    ws.on('message', (data) => callback(JSON.parse(data.toString())));
  });
}
