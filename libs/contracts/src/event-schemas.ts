import type { ServerEventName } from './events.js';

/**
 * Runtime shapes of the server events, for payloads that arrive from outside (the publish API).
 * A spec is a type name (`'string'`, `'number'`, `'boolean'`, `'unknown'`, `'iso'` for an ISO 8601
 * string), a union of string literals (`"'info'|'warning'"`), an object of specs, or a one-element
 * array for lists. A trailing `?` makes a field optional. Objects refuse unknown keys.
 */
export type Spec = string | { [field: string]: Spec } | [Spec];

const entityEvent: Spec = {
  type: "'entity_event'",
  entity_type: "'sensor'|'location'",
  event_type: "'created'|'updated'|'deleted'",
  entity_id: 'string',
  data: 'unknown',
  timestamp: 'iso',
  'metadata?': 'unknown',
};
const reading: Spec = { sensorId: 'string', metric: 'string', value: 'number', 'unit?': 'string', ts: 'number' };
const alarm: Spec = {
  id: 'string',
  sensorId: 'string',
  metric: 'string',
  type: "'anomaly'|'threshold'|'inactivity'",
  severity: "'warning'|'critical'",
  status: "'active'|'cleared'",
  acknowledged: 'boolean',
  startTs: 'number',
  lastTs: 'number',
  count: 'number',
  'ackTs?': 'number',
  'ackBy?': 'string',
  'clearTs?': 'number',
  'clearBy?': 'string',
  details: 'unknown',
};
const notificationChanged: Spec = { notificationId: 'string', 'success?': 'boolean' };

export const EVENT_SCHEMAS = {
  authenticated: {
    success: 'boolean',
    userId: 'string',
    'email?': 'string',
    role: "'admin'|'service'|'user'",
    'epoch?': 'string',
    'offset?': 'number',
    'recovered?': 'boolean',
  },
  'reading:new': reading,
  'reading:batch': { readings: [reading] },
  'sensor:created': entityEvent,
  'sensor:updated': entityEvent,
  'sensor:deleted': entityEvent,
  'location:created': entityEvent,
  'location:updated': entityEvent,
  'location:deleted': entityEvent,
  'anomaly:detected': {
    id: 'string',
    sensorId: 'string',
    metric: 'string',
    value: 'number',
    expected: { mean: 'number', std: 'number' },
    score: 'number',
    severity: "'warning'|'critical'",
    ts: 'number',
  },
  'prediction:completed': { sensorId: 'string', metric: 'string', model: 'string', points: [{ ts: 'number', value: 'number' }], ts: 'number' },
  'alarm:created': alarm,
  'alarm:updated': alarm,
  'alarm:acknowledged': alarm,
  'alarm:cleared': alarm,
  'system:event': { level: "'info'|'warning'|'error'", message: 'string', 'data?': 'unknown', timestamp: 'iso' },
  'notification:new': {
    notification: { id: 'string', title: 'string', message: 'string', 'data?': 'unknown', createdAt: 'iso', read: 'boolean' },
    timestamp: 'iso',
  },
  'notification:read': notificationChanged,
  'notification:deleted': notificationChanged,
  'notification:unread_count': { unreadCount: 'number' },
  'achievement:unlocked': { achievementId: 'string', name: 'string', 'description?': 'string', 'xp?': 'number', unlockedAt: 'iso' },
  'rank:updated': { oldRank: 'number', newRank: 'number' },
  'xp:gained': { amount: 'number', source: 'string', totalXp: 'number' },
  'leaderboard:updated': { leaderboard: [{ userId: 'string', 'name?': 'string', xp: 'number', rank: 'number' }] },
  error: { code: 'string', message: 'string', 'details?': ['string'] },
} as const satisfies Record<ServerEventName, Spec>;

export function isServerEventName(name: string): name is ServerEventName {
  return Object.prototype.hasOwnProperty.call(EVENT_SCHEMAS, name);
}

/** Problems with `value` against `spec`, as readable lines; empty when it matches. */
export function checkShape(value: unknown, spec: Spec, path = 'payload'): string[] {
  if (Array.isArray(spec)) {
    if (!Array.isArray(value)) return [`${path} must be an array`];
    return value.flatMap((item, index) => checkShape(item, spec[0], `${path}[${index}]`));
  }
  if (typeof spec === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path} must be an object`];
    const record = value as Record<string, unknown>;
    const known = new Set<string>();
    const problems: string[] = [];
    for (const [rawKey, fieldSpec] of Object.entries(spec)) {
      const optional = rawKey.endsWith('?');
      const key = optional ? rawKey.slice(0, -1) : rawKey;
      known.add(key);
      if (!Object.prototype.hasOwnProperty.call(record, key) || record[key] === undefined) {
        if (!optional) problems.push(`${path}.${key} is required`);
        continue;
      }
      problems.push(...checkShape(record[key], fieldSpec, `${path}.${key}`));
    }
    for (const key of Object.keys(record)) if (!known.has(key)) problems.push(`${path}.${key} is not allowed`);
    return problems;
  }
  return checkScalar(value, spec, path);
}

function checkScalar(value: unknown, spec: string, path: string): string[] {
  switch (spec) {
    case 'unknown':
      return [];
    case 'string':
    case 'boolean':
      return typeof value === spec ? [] : [`${path} must be a ${spec}`];
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? [] : [`${path} must be a finite number`];
    case 'iso':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))
        ? []
        : [`${path} must be an ISO 8601 date-time`];
    default: {
      const literals = spec.split('|').map((literal) => literal.replace(/^'|'$/g, ''));
      return typeof value === 'string' && literals.includes(value) ? [] : [`${path} must be one of ${literals.join(', ')}`];
    }
  }
}
