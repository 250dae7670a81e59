import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import type { StreamMeta, StreamPosition } from '#contracts';
import { createGatewayClient, type GatewayClient } from '#client';

/**
 * Clients that resume after a cut (CONTRACT section 9), each recording, per stream, the index
 * carried by every event it got: `system:event` (data.i) on topics, `rank:updated` (newRank) on
 * user rooms. A recovery suite compares those lists with 0..N-1: nothing missed, nothing twice,
 * in order.
 */
export interface RecoveringClient {
  /** Per stream: the indices received, in arrival order. */
  readonly received: Map<string, number[]>;
  /** Every subscribe ack and `authenticated` (Socket.IO) or ack frame (`/ws`), in order. */
  readonly acks: any[];
  /** Streams reported by `stream:reset` / reset frames, or by `onRecoveryFailed`. */
  readonly failures: string[];
  /** Connections opened (1 before any cut). */
  connections: number;
  close(): void;
}

function record(received: Map<string, number[]>, stream: string, index: number): void {
  let list = received.get(stream);
  if (!list) received.set(stream, (list = []));
  list.push(index);
}

const indexOf = (event: string, payload: any): number => (event === 'rank:updated' ? payload.newRank : payload.data.i);

/** A raw socket.io-client that tracks positions from `meta` itself and resumes with `since` / `auth.since`. */
export function rawSocketIoClient(url: string, token: string, topic: string): RecoveringClient & { socket: Socket; subscribed: Promise<void> } {
  const positions = new Map<string, StreamPosition>();
  const received = new Map<string, number[]>();
  const acks: any[] = [];
  const failures: string[] = [];
  let userStream: string | null = null;
  let markSubscribed: () => void = () => undefined;
  const subscribed = new Promise<void>((resolve) => (markSubscribed = resolve));
  const socket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
    auth: (cb) => cb({ token, ...(userStream && positions.has(userStream) ? { since: positions.get(userStream) } : {}) }),
  });
  const client = { socket, received, acks, failures, connections: 0, subscribed, close: () => socket.disconnect() };
  const onEvent = (event: string) => (payload: any, meta?: StreamMeta) => {
    for (const [stream, offset] of Object.entries(meta?.positions ?? {})) {
      positions.set(stream, { epoch: meta!.epoch[stream]!, offset });
      record(received, stream, indexOf(event, payload));
    }
  };
  socket.on('system:event', onEvent('system:event'));
  socket.on('rank:updated', onEvent('rank:updated'));
  socket.on('stream:reset', ({ streams }) => failures.push(...streams));
  socket.on('authenticated', (auth: any) => {
    acks.push({ authenticated: auth });
    userStream = `user:${auth.userId}`;
    if (auth.recovered === false) failures.push(userStream);
    if (auth.recovered !== true) positions.set(userStream, { epoch: auth.epoch, offset: auth.offset });
  });
  socket.on('connect', () => {
    client.connections += 1;
    const since = positions.get(topic);
    socket.emit('subscribe', { topic, ...(since ? { since } : {}) }, (ack: any) => {
      acks.push(ack);
      if (ack.ok && ack.recovered === false && since) failures.push(topic);
      // After a recovered since the replayed events advance the position themselves.
      if (ack.ok && ack.recovered !== true) positions.set(topic, { epoch: ack.epoch, offset: ack.offset });
      markSubscribed();
    });
  });
  return client;
}

/** The typed client of libs/client: it tracks positions and resumes by itself. */
export function libraryClient(url: string, token: string, topic: string): RecoveringClient & { client: GatewayClient; subscribed: Promise<void> } {
  const received = new Map<string, number[]>();
  const failures: string[] = [];
  const client = createGatewayClient({ url, token, onRecoveryFailed: (stream) => failures.push(stream) });
  const result = { client, received, acks: [] as any[], failures, connections: 0, subscribed: client.subscribe(topic), close: () => client.close() };
  client.socket.on('connect', () => (result.connections += 1));
  client.on('system:event', (payload: any, meta) => {
    for (const stream of Object.keys(meta?.positions ?? {})) record(received, stream, payload.data.i);
  });
  client.on('rank:updated', (payload, meta) => {
    for (const stream of Object.keys(meta?.positions ?? {})) record(received, stream, payload.newRank);
  });
  return result;
}

/** A plain `ws` client of `/ws` that reconnects by itself and re-subscribes with `since`. */
export function plainWsClient(wsUrlOf: () => string, topic: string): RecoveringClient & { subscribed: Promise<void> } {
  const positions = new Map<string, StreamPosition>();
  const received = new Map<string, number[]>();
  const acks: any[] = [];
  const failures: string[] = [];
  let closed = false;
  let current: WebSocket | null = null;
  let markSubscribed: () => void = () => undefined;
  const subscribed = new Promise<void>((resolve) => (markSubscribed = resolve));
  const client: RecoveringClient & { subscribed: Promise<void> } = {
    received,
    acks,
    failures,
    connections: 0,
    subscribed,
    close: () => {
      closed = true;
      current?.terminate();
    },
  };
  const open = (): void => {
    if (closed) return;
    const ws = new WebSocket(wsUrlOf());
    current = ws;
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (!closed) setTimeout(open, 50);
    });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'connection') {
        client.connections += 1;
        const since = positions.get(topic);
        ws.send(JSON.stringify({ type: 'sub', topic, ...(since ? { since } : {}) }));
      } else if (frame.type === 'ack' && frame.op === 'sub') {
        acks.push(frame);
        if (frame.recovered === false && positions.has(topic)) failures.push(topic);
        if (frame.recovered !== true) positions.set(topic, { epoch: frame.epoch, offset: frame.offset });
        markSubscribed();
      } else if (frame.type === 'reset') {
        failures.push(...frame.streams);
      } else if (frame.event) {
        for (const [stream, offset] of Object.entries(frame.positions ?? {}) as [string, number][]) {
          positions.set(stream, { epoch: frame.epoch[stream], offset });
          record(received, stream, indexOf(frame.event, frame.payload));
        }
      }
    });
  };
  open();
  return client;
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
