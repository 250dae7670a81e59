import type {
  AnomalyPayload,
  EntityEvent,
  PredictionPayload,
  ReadingPayload,
  ServerEventName,
  ServerEventPayloads,
  StreamMeta,
  SystemEventPayload,
} from '#contracts';

/**
 * The sensor module's dialect (CONTRACT.md §14): every event is one flat JSON object with a
 * top-level `type`, so that its clients' `if (data.type === 'entity_event') ... else if
 * (data.type === 'system_event')` and `data['entity_type']` keep working unchanged.
 */

/** An entity event of the dialect: the contract's `EntityEvent`, widened to the entity types the sensor module knew. */
export interface FlatEntityEvent extends Omit<EntityEvent, 'entity_type' | 'event_type'> {
  entity_type: EntityEvent['entity_type'] | 'anomaly' | 'prediction' | 'reading';
  event_type: EntityEvent['event_type'] | 'anomaly_detected' | 'prediction_completed';
}

export interface FlatSystemEvent extends SystemEventPayload {
  type: 'system_event';
}

/** Any other event (user events and the rest), flattened under its own name. */
export type FlatNamedEvent = { type: string } & Record<string, unknown>;

export type FlatFrame = (FlatEntityEvent | FlatSystemEvent | FlatNamedEvent) & Partial<StreamMeta>;

/** What a frame is built from: a `StreamPublication` fits, and so does a plain `{ event, payload }`. */
export interface FlatSource<E extends ServerEventName = ServerEventName> {
  readonly event: E;
  readonly payload: ServerEventPayloads[E];
}

/** A payload's ms timestamp as ISO 8601; one no `Date` can hold (a bad `POST /publish`) becomes now, never a throw. */
function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? new Date().toISOString() : date.toISOString();
}

/** Entity events go out exactly as they were published. */
const ENTITY_EVENTS: ReadonlySet<ServerEventName> = new Set([
  'sensor:created',
  'sensor:updated',
  'sensor:deleted',
  'location:created',
  'location:updated',
  'location:deleted',
]);

/**
 * One event as the dialect's flat object. The choices for what the sensor module had no event for:
 * - `anomaly:detected`: `entity_id` is the anomaly's id, `timestamp` the reading's time, `data` the
 *   whole payload, `metadata.sensor_id` the sensor it is about;
 * - `prediction:completed`: a forecast has no id of its own, so `entity_id` is the sensor's id,
 *   `timestamp` the time the forecast was made, `data` the whole payload (`metric`, `model`, `points`);
 * - `reading:new`: `entity_id` is the sensor's id (a reading has no id), `timestamp` the reading's
 *   time, `data` the payload (`sensorId`, `metric`, `value`, `unit?`, `ts`).
 * With `meta`, the section 9 positions are added as `positions` and `epoch`, as on `/ws`.
 */
export function flatFrame(source: FlatSource, meta?: StreamMeta): FlatFrame {
  const frame = flatten(source);
  return meta ? { ...frame, positions: meta.positions, epoch: meta.epoch } : frame;
}

/** {@link flatFrame} serialized: what goes on the wire, built once per group of subscribers. */
export function flatFrameJson(source: FlatSource, meta?: StreamMeta): string {
  return JSON.stringify(flatFrame(source, meta));
}

function flatten(source: FlatSource): FlatFrame {
  const { event } = source;
  if (ENTITY_EVENTS.has(event)) return { ...(source.payload as EntityEvent), type: 'entity_event' };
  switch (event) {
    case 'anomaly:detected': {
      const anomaly = source.payload as AnomalyPayload;
      return entityEvent('anomaly', 'anomaly_detected', anomaly.id, anomaly, anomaly.ts, { sensor_id: anomaly.sensorId });
    }
    case 'prediction:completed': {
      const prediction = source.payload as PredictionPayload;
      return entityEvent('prediction', 'prediction_completed', prediction.sensorId, prediction, prediction.ts, { sensor_id: prediction.sensorId });
    }
    case 'reading:new': {
      const reading = source.payload as ReadingPayload;
      return entityEvent('reading', 'created', reading.sensorId, reading, reading.ts, { sensor_id: reading.sensorId });
    }
    case 'system:event': {
      const { level, message, data, timestamp } = source.payload as SystemEventPayload;
      return data === undefined ? { type: 'system_event', level, message, timestamp } : { type: 'system_event', level, message, data, timestamp };
    }
    default: {
      // `{"type": <event name>, ...payload}`; the name wins over a `type` field of the payload,
      // so that a client's dispatch on `type` never sees another event's name.
      const payload = source.payload as unknown;
      const fields = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : { data: payload };
      return { type: event, ...withoutType(fields) };
    }
  }
}

function entityEvent(
  entityType: FlatEntityEvent['entity_type'],
  eventType: FlatEntityEvent['event_type'],
  entityId: string,
  data: unknown,
  ms: number,
  metadata: Record<string, unknown>,
): FlatEntityEvent {
  return { type: 'entity_event', entity_type: entityType, event_type: eventType, entity_id: entityId, data, timestamp: iso(ms), metadata };
}

function withoutType(fields: Record<string, unknown>): Record<string, unknown> {
  if (!('type' in fields)) return fields;
  const { type: _ignored, ...rest } = fields;
  return rest;
}
