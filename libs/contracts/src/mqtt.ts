import { ID_PATTERN } from './topics.js';

/** MQTT topic of one sensor metric: `sensors/<sensorId>/<metric>`. */
export const SENSOR_TOPIC_FILTER = 'sensors/+/+';
export const sensorMqttTopic = (sensorId: string, metric: string): string => `sensors/${sensorId}/${metric}`;

/** Largest accepted reading payload in bytes. */
export const MAX_READING_BYTES = 1024;
/** Readings stamped before this (2000-01-01) are refused: usually seconds sent as milliseconds. */
export const MIN_READING_TS = 946_684_800_000;
/** Readings stamped more than this far in the future are refused. */
export const MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000;

/**
 * The largest |value| a reading may have: far beyond any measurement, and small enough that sums of
 * a minute's readings (the per-minute rollup) cannot overflow a double.
 */
export const MAX_READING_MAGNITUDE = 1e300;
/** Why a payload could not be read as a reading. */
export const PARSE_REJECT_REASONS = ['bad_topic', 'too_large', 'not_a_number', 'not_finite', 'bad_ts', 'bad_unit'] as const;
/** Why a readable reading was not admitted (CONTRACT §12, §13). */
/** `store_unavailable`: the sensor is not in memory and the database that knows it cannot be reached. */
export const ADMISSION_REJECT_REASONS = ['unknown_sensor', 'sensor_limit', 'metric_limit', 'rate_limited', 'store_unavailable'] as const;
/** What the embedded broker refuses: credentials, another sensor's topic, retained messages, subscriptions, packets it cannot parse (and `bad_topic`, `too_large`). */
export const BROKER_REJECT_REASONS = ['unauthorized', 'retained', 'subscribe_refused', 'malformed_packet'] as const;
/** Every `reason` label of `mqtt_messages_rejected_total`. */
export const REJECT_REASONS = [...PARSE_REJECT_REASONS, ...ADMISSION_REJECT_REASONS, ...BROKER_REJECT_REASONS] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
export type AdmissionRejectReason = (typeof ADMISSION_REJECT_REASONS)[number];

export interface ParsedReading {
  sensorId: string;
  metric: string;
  value: number;
  unit?: string;
  ts: number;
}

export type ParseResult = { ok: true; reading: ParsedReading } | { ok: false; reason: RejectReason; detail: string };

export function parseSensorTopic(topic: string): { sensorId: string; metric: string } | null {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== 'sensors') return null;
  const [, sensorId, metric] = parts as [string, string, string];
  return ID_PATTERN.test(sensorId) && ID_PATTERN.test(metric) ? { sensorId, metric } : null;
}

/** A reading's `ts`: ms epoch or ISO 8601; absent means `now`. Null when unusable. */
export function normalizeTs(raw: unknown, now: number): number | null {
  if (raw === undefined || raw === null) return now;
  const ts = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ts) || ts < MIN_READING_TS || ts > now + MAX_CLOCK_SKEW_MS) return null;
  return Math.round(ts);
}

const reject = (reason: RejectReason, detail: string): ParseResult => ({ ok: false, reason, detail });

/**
 * Parses one MQTT message: a bare number (`23.5`) or JSON `{ "value": 23.5, "ts"?: ms or ISO, "unit"?: "C" }`.
 * Never throws: anything else is a {@link RejectReason}.
 */
export function parseReading(topic: string, payload: Uint8Array, now: number): ParseResult {
  const ids = parseSensorTopic(topic);
  if (!ids) return reject('bad_topic', `topic must be sensors/<sensorId>/<metric> with ids of [A-Za-z0-9_.-]{1,64}`);
  if (payload.byteLength > MAX_READING_BYTES) return reject('too_large', `payload is ${payload.byteLength} bytes, at most ${MAX_READING_BYTES}`);
  const text = new TextDecoder().decode(payload).trim();

  let fields: { value?: unknown; ts?: unknown; unit?: unknown };
  if (text.startsWith('{')) {
    try {
      fields = JSON.parse(text) as typeof fields;
    } catch {
      return reject('not_a_number', 'payload is neither a number nor valid JSON');
    }
  } else {
    if (/^[+-]?(Infinity|NaN)$/.test(text)) return reject('not_finite', 'value must be finite');
    fields = { value: text === '' ? NaN : Number(text) };
  }
  const { value, ts, unit } = fields;
  if (typeof value !== 'number' || Number.isNaN(value)) return reject('not_a_number', 'value must be a number');
  if (!Number.isFinite(value) || Math.abs(value) > MAX_READING_MAGNITUDE) return reject('not_finite', 'value must be finite, at most 1e300 in magnitude');
  if (unit !== undefined && (typeof unit !== 'string' || unit.length === 0 || unit.length > 16)) {
    return reject('bad_unit', 'unit must be a string of 1-16 characters');
  }
  const timestamp = normalizeTs(ts, now);
  if (timestamp === null) return reject('bad_ts', 'ts must be ms since the epoch or ISO 8601, after 2000 and not in the future');
  // Written out, not spread: a literal that starts with a spread gets a hidden class of its own in V8, and
  // readings are kept (stream history, the writer's queue) by the thousand.
  const { sensorId, metric } = ids;
  const reading: ParsedReading = unit === undefined ? { sensorId, metric, value, ts: timestamp } : { sensorId, metric, value, unit, ts: timestamp };
  return { ok: true, reading };
}

/** The last series key made, handed out again for the same series. */
let lastSeries = { sensorId: '', metric: '', key: '/' };

/**
 * `sensorId/metric`: the key of a series' state in memory (its anomaly window, its inactivity). One
 * flat string: a template literal this long is a cons string, which a map flattens into a second
 * string on lookup, and keeps both. The last key made is handed out again for the same series: the
 * pipeline's window and the alarms' tracker ask for it one after the other, so their maps share one
 * string per series.
 */
export function seriesKey(sensorId: string, metric: string): string {
  if (sensorId === lastSeries.sensorId && metric === lastSeries.metric) return lastSeries.key;
  const key = [sensorId, '/', metric].join('');
  lastSeries = { sensorId, metric, key };
  return key;
}
