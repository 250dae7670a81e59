import { WebSocket, type ClientOptions } from 'ws';

const open = new Set<WebSocket>();

export interface PlainClient {
  ws: WebSocket;
  /** Every JSON message received, in order. */
  messages: any[];
  /** Resolves with the first message (from now on) matching `predicate`. */
  next(predicate?: (message: any) => boolean): Promise<any>;
  send(message: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
}

export function wsUrl(httpUrl: string, path = '/ws', query = ''): string {
  return `${httpUrl.replace(/^http/, 'ws')}${path}${query ? `?${query}` : ''}`;
}

/** Opens a plain WebSocket and resolves after the server's `connection` message. */
export function connectPlain(url: string, protocols?: string | string[], options: ClientOptions = {}): Promise<PlainClient> {
  const ws = new WebSocket(url, protocols, options);
  open.add(ws);
  const messages: any[] = [];
  const waiters: { predicate: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const client: PlainClient = {
    ws,
    messages,
    next: (predicate = () => true) => new Promise((resolve) => waiters.push({ predicate, resolve })),
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    closed,
  };
  return new Promise((resolve, reject) => {
    const connection = client.next((m) => m.type === 'connection');
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body: body ? JSON.parse(body) : undefined })));
    });
    ws.once('error', (error) => reject(error));
    void connection.then(() => resolve(client));
  });
}

/** Expects the upgrade to be refused; resolves with the HTTP status and JSON body. */
export async function refusedPlain(url: string, protocols?: string | string[], options: ClientOptions = {}): Promise<{ status: number; body: any }> {
  try {
    await connectPlain(url, protocols, options);
  } catch (error) {
    const { status, body } = error as { status?: number; body?: unknown };
    if (status === undefined) throw error;
    return { status, body };
  }
  throw new Error('upgrade succeeded, expected a refusal');
}

export function closeAllPlain(): void {
  for (const ws of open) ws.terminate();
  open.clear();
}
