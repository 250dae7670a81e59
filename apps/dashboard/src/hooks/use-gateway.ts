import type { GatewayClient } from '#client';
import type { Api } from './api.js';
import { useGatewayContext, type GatewayState } from './gateway-context.js';

/** Connection state (status, transport, who we are, the last error), the client and the HTTP API. */
export function useGateway(): GatewayState & { client: GatewayClient; api: Api } {
  const { client, api, state } = useGatewayContext();
  return { ...state, client, api };
}
