export { createGatewayClient, GatewayError, type GatewayClient, type GatewayClientOptions, type GatewaySocket } from './gateway-client.js';
