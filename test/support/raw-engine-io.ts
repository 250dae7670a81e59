import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { wsUrl } from './plain-ws.js';

/**
 * A bare Engine.IO 4 connection over ws, speaking Socket.IO packets as text frames. For what
 * socket.io-client never does, such as two CONNECT packets for one namespace on one connection.
 */
export interface RawEngineIo {
  /** Sends each packet in its own frame, all in one TCP write, so the server reads them in one tick. */
  send(...packets: string[]): void;
  /** The next frame starting with `prefix`, in arrival order among those that match. */
  next(prefix: string): Promise<string>;
  /** Resolves when the connection has closed, from either side. */
  closed: Promise<void>;
  close(): void;
  terminate(): void;
}

export function openRawEngineIo(httpUrl: string): RawEngineIo {
  const ws = new WebSocket(wsUrl(httpUrl, '/socket.io/', 'EIO=4&transport=websocket'));
  const unclaimed: string[] = [];
  const waiters: { prefix: string; resolve: (frame: string) => void }[] = [];
  ws.on('message', (data) => {
    const frame = data.toString();
    const waiter = waiters.find(({ prefix }) => frame.startsWith(prefix));
    if (!waiter) return void unclaimed.push(frame);
    waiters.splice(waiters.indexOf(waiter), 1);
    waiter.resolve(frame);
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.on('error', () => undefined); // a refused or reset connection shows as `closed`
  return {
    closed,
    send(...packets) {
      // ws keeps its net.Socket private; corking it is the only way to put frames in one write.
      const tcp = (ws as unknown as { _socket: Socket })._socket;
      tcp.cork();
      for (const packet of packets) ws.send(packet);
      tcp.uncork();
    },
    next(prefix) {
      const index = unclaimed.findIndex((frame) => frame.startsWith(prefix));
      if (index >= 0) return Promise.resolve(unclaimed.splice(index, 1)[0]!);
      return new Promise((resolve) => waiters.push({ prefix, resolve }));
    },
    close: () => ws.close(),
    terminate: () => ws.terminate(),
  };
}
