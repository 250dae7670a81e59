import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents } from '#contracts';
import type { Identity } from '#auth';

/** What the handshake leaves on `socket.data`: plain data only, the Redis adapter serializes it. */
export interface SocketData {
  identity: Identity;
  address: string;
  /**
   * Set only for a tokenless reader (`WS_PUBLIC_CHANNELS`): the public channels it reads. Such a
   * socket has no user room and may send nothing (every event is refused).
   */
  publicChannels?: string[];
}

export type GatewayServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** The engine.io connection under a socket: a transport, counted against the caps while it is open. */
export type EngineConnection = GatewaySocket['conn'];
