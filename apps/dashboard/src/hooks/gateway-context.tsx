import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { createGatewayClient, type GatewayClient } from '#client';
import type { AuthenticatedPayload } from '#contracts';
import { createApi, type Api } from './api.js';
import { createTopicLeases, type TopicLeases } from './topic-leases.js';

export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'refused';

export interface GatewayState {
  status: ConnectionStatus;
  /** True from the first connection on, across reconnects: what loads state over HTTP once waits for. */
  hasConnected: boolean;
  /** The Engine.IO transport in use: `websocket`, or `polling` where WebSocket is blocked. */
  transport: string | null;
  identity: AuthenticatedPayload | null;
  /** Why the last connection attempt or the session failed, for the user. */
  error: string | null;
}

export interface GatewayContextValue {
  client: GatewayClient;
  leases: TopicLeases;
  /** HTTP calls to the same gateway with the socket's current token. */
  api: Api;
  state: GatewayState;
}

const GatewayContext = createContext<GatewayContextValue | null>(null);

export interface GatewayProviderProps {
  /** The gateway's origin; the dashboard uses its own (`window.location.origin`). */
  url: string;
  token: string;
  /** For refresh before `exp` and after a refused handshake. */
  getToken?: () => Promise<string>;
  children: ReactNode;
}

const INITIAL_STATE: GatewayState = { status: 'connecting', hasConnected: false, transport: null, identity: null, error: null };

/** One gateway connection for the tree below; closed when the provider unmounts or its token changes. */
export function GatewayProvider({ url, token, getToken, children }: GatewayProviderProps) {
  const [connection, setConnection] = useState<Omit<GatewayContextValue, 'state'> | null>(null);
  const [state, setState] = useState<GatewayState>(INITIAL_STATE);

  useEffect(() => {
    const client = createGatewayClient({
      url,
      token,
      getToken,
      onRefreshError: (error) => setState((previous) => ({ ...previous, error: `Token refresh failed: ${String(error)}` })),
    });
    const { socket } = client;
    const transport = (): string | null => socket.io.engine?.transport?.name ?? null;
    const update = (patch: Partial<GatewayState>): void => setState((previous) => ({ ...previous, ...patch }));

    socket.on('connect', () => {
      update({ status: 'connected', hasConnected: true, transport: transport(), error: null });
      socket.io.engine.on('upgrade', () => update({ transport: transport() }));
    });
    socket.on('authenticated', (identity) => update({ identity }));
    socket.on('disconnect', (reason) => update({ status: 'reconnecting', transport: null, error: reason }));
    socket.on('connect_error', (error) => {
      const code = (error as { data?: { code?: string } }).data?.code;
      update({ status: socket.active ? 'reconnecting' : 'refused', error: code ? `${error.message} (${code})` : error.message });
    });
    socket.on('error', (body) => update({ error: `${body.code}: ${body.message}` }));

    setState(INITIAL_STATE);
    setConnection({ client, leases: createTopicLeases(client), api: createApi(url, () => client.token) });
    return () => {
      client.close();
      setConnection(null);
    };
  }, [url, token, getToken]);

  if (!connection) return null;
  return <GatewayContext.Provider value={{ ...connection, state }}>{children}</GatewayContext.Provider>;
}

export function useGatewayContext(): GatewayContextValue {
  const value = useContext(GatewayContext);
  if (!value) throw new Error('Gateway hooks need a <GatewayProvider> above them');
  return value;
}
