import { expect } from '@jest/globals';
import { io, type Socket, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import type { ClientToServerEvents, ConnectErrorData, ServerEventName, ServerEventPayloads, ServerToClientEvents } from '#contracts';

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const open = new Set<TestSocket>();

/** A socket.io-client socket that is not connected yet; closed by {@link closeAllClients}. */
export function client(url: string, options: Partial<ManagerOptions & SocketOptions> = {}): TestSocket {
  const socket: TestSocket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false, ...options });
  open.add(socket);
  return socket;
}

const initialUnreadCounts = new WeakMap<TestSocket, number>();

/** Connects and resolves once the server has sent `authenticated` and the unread count that follows it. */
export async function connectAs(url: string, token: string, options: Partial<ManagerOptions & SocketOptions> = {}): Promise<TestSocket> {
  const socket = client(url, { auth: { token }, ...options });
  const ready = Promise.all([nextEvent(socket, 'authenticated'), nextEvent(socket, 'notification:unread_count')]);
  const failed = new Promise<never>((_, reject) => socket.once('connect_error', (error) => reject(error)));
  socket.connect();
  const [, unread] = await Promise.race([ready, failed]);
  initialUnreadCounts.set(socket, unread.unreadCount);
  return socket;
}

/** The `notification:unread_count` that followed `authenticated` on a socket from {@link connectAs}. */
export function initialUnreadCount(socket: TestSocket): number {
  const count = initialUnreadCounts.get(socket);
  if (count === undefined) throw new Error('initialUnreadCount needs a socket from connectAs');
  return count;
}

/** Connects expecting refusal; resolves with the `connect_error`. */
export function connectError(socket: TestSocket): Promise<Error & { data?: ConnectErrorData }> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, expected connect_error')));
    socket.once('connect_error', (error) => resolve(error as Error & { data?: ConnectErrorData }));
    socket.connect();
  });
}

export function nextEvent<E extends ServerEventName>(socket: TestSocket, event: E): Promise<ServerEventPayloads[E]> {
  return new Promise((resolve) => {
    (socket as unknown as { once(event: string, listener: (payload: unknown) => void): void }).once(event, (payload) =>
      resolve(payload as ServerEventPayloads[E]),
    );
  });
}

export interface ReceivedEvent {
  event: string;
  payload: unknown;
}

/** Every event a socket receives from now on, in order; `until` waits for a condition on them. */
export type EventLog = ReceivedEvent[] & { until(condition: (events: ReceivedEvent[]) => boolean): Promise<void> };

export function recordEvents(socket: TestSocket): EventLog {
  const waiters: { condition: (events: ReceivedEvent[]) => boolean; resolve: () => void }[] = [];
  const log = Object.assign([] as ReceivedEvent[], {
    until(condition: (events: ReceivedEvent[]) => boolean): Promise<void> {
      if (condition(log)) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ condition, resolve }));
    },
  });
  socket.onAny((event: string, payload: unknown) => {
    log.push({ event, payload });
    for (const waiter of [...waiters]) {
      if (waiter.condition(log)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  return log;
}

/** Waits until the log holds `count` events named `event`. */
export function countOf(event: string, count = 1): (events: ReceivedEvent[]) => boolean {
  return (events) => events.filter((e) => e.event === event).length >= count;
}

export function disconnected(socket: TestSocket): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
}

export function closeAllClients(): void {
  for (const socket of open) socket.disconnect();
  open.clear();
}

/** The ack of a `subscribe` without `since`: the topic's current position, nothing recovered. */
export function joinedAck(topic: string) {
  return { ok: true, topic, epoch: expect.any(String), offset: expect.any(Number), recovered: false };
}
