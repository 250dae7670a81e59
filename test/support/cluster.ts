import { startGateway, uniqueClientId, type TestGateway } from './gateway.js';

/** Environment shared by the instances of one test cluster: its own Redis keys, MQTT topics and share group. */
export function clusterEnv(name: string, extra: Record<string, string> = {}): Record<string, string> {
  const id = `${name}-${process.pid}-${Date.now().toString(36)}`;
  return {
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `e2e:${id}:`,
    MQTT_URL: 'mqtt://127.0.0.1:1883',
    MQTT_TOPIC_PREFIX: `e2e-${id}/`,
    MQTT_SHARE_GROUP: `g-${id}`,
    ...extra,
  };
}

/** Each instance of a cluster needs its own MQTT client id. */
export function instanceEnv(shared: Record<string, string>): Record<string, string> {
  return { ...shared, MQTT_CLIENT_ID: uniqueClientId() };
}

/** Two gateways of one test cluster (`clusterEnv(name, extra)`), each with its own MQTT client id. */
export async function startTwoInstances(
  name: string,
  extra: Record<string, string> = {},
): Promise<{ env: Record<string, string>; one: TestGateway; two: TestGateway }> {
  const env = clusterEnv(name, extra);
  return { env, one: await startGateway(instanceEnv(env)), two: await startGateway(instanceEnv(env)) };
}
