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

/** Connects and resolves once the server has sent `authenticated`. */
export async function connectAs(url: string, token: string, options: Partial<ManagerOptions & SocketOptions> = {}): Promise<TestSocket> {
  const socket = client(url, { auth: { token }, ...options });
  const authenticated = nextEvent(socket, 'authenticated');
  const failed = new Promise<never>((_, reject) => socket.once('connect_error', (error) => reject(error)));
  socket.connect();
  await Promise.race([authenticated, failed]);
  return socket;
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

/** Records every event a socket receives, in order, from now on. */
export function recordEvents(socket: TestSocket): { event: string; payload: unknown }[] {
  const seen: { event: string; payload: unknown }[] = [];
  socket.onAny((event: string, payload: unknown) => seen.push({ event, payload }));
  return seen;
}

export function disconnected(socket: TestSocket): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
}

export function closeAllClients(): void {
  for (const socket of open) socket.disconnect();
  open.clear();
}
