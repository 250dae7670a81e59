import type { Role } from './identity.js';

/** Topics with a fixed name. `system` is for admins only. */
export const STATIC_TOPICS = ['general', 'sensors', 'readings', 'locations', 'anomalies', 'predictions', 'alarms', 'system'] as const;
export type StaticTopic = (typeof STATIC_TOPICS)[number];

/** A sensor id or metric name: also one MQTT topic level, so no `/`, `+` or `#`. */
export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export type SensorTopic = `sensor:${string}`;
export type Topic = StaticTopic | SensorTopic;

/** The room every socket of a user joins. Never a topic a client may name. */
export type UserRoom = `user:${string}`;

export const sensorTopic = (sensorId: string): SensorTopic => `sensor:${sensorId}`;
export const userRoom = (userId: string): UserRoom => `user:${userId}`;

export type ParsedTopic =
  { kind: 'static'; topic: StaticTopic } | { kind: 'sensor'; topic: SensorTopic; sensorId: string } | { kind: 'user' } | { kind: 'unknown' };

const staticTopics: ReadonlySet<string> = new Set(STATIC_TOPICS);

export function parseTopic(topic: string): ParsedTopic {
  if (staticTopics.has(topic)) return { kind: 'static', topic: topic as StaticTopic };
  if (topic.startsWith('sensor:')) {
    const sensorId = topic.slice('sensor:'.length);
    if (ID_PATTERN.test(sensorId)) return { kind: 'sensor', topic: topic as SensorTopic, sensorId };
    return { kind: 'unknown' };
  }
  if (topic.startsWith('user:')) return { kind: 'user' };
  return { kind: 'unknown' };
}

/** Which roles may join a static topic; a topic absent here is open to every role. */
export const TOPIC_ROLES: Partial<Record<StaticTopic, readonly Role[]>> = {
  system: ['admin'],
};

/**
 * Whether a topic may be opened to clients without a token (`WS_PUBLIC_CHANNELS`): a known topic
 * that every role may read. Never `system`, never a user room, never a name that is no topic.
 */
export function canBePublic(topic: string): boolean {
  const parsed = parseTopic(topic);
  if (parsed.kind === 'sensor') return true;
  return parsed.kind === 'static' && TOPIC_ROLES[parsed.topic] === undefined;
}
