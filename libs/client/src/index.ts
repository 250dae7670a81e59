export {
  createGatewayClient,
  GatewayError,
  type EventHandler,
  type GatewayClient,
  type GatewayClientOptions,
  type GatewaySocket,
  type SubscribeOptions,
} from './gateway-client.js';
