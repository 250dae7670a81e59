import { useEffect, useState, type FormEvent } from 'react';
import type { EntityEvent, Page, Sensor, SensorInput } from '#contracts';
import { useGateway, useTopic } from '../hooks/index.js';

const EVENT_LOG_LENGTH = 20;

interface Draft {
  id: string;
  name: string;
  type: string;
  unit: string;
  ownerId: string;
  min: string;
  max: string;
}

const EMPTY_DRAFT: Draft = { id: '', name: '', type: 'temperature', unit: '', ownerId: '', min: '', max: '' };

function toDraft(sensor: Sensor): Draft {
  return {
    id: sensor.id,
    name: sensor.name,
    type: sensor.type,
    unit: sensor.unit ?? '',
    ownerId: sensor.ownerId ?? '',
    min: sensor.thresholds?.min?.toString() ?? '',
    max: sensor.thresholds?.max?.toString() ?? '',
  };
}

/** The form's fields as the API's body; empty fields are left out (on edit, they keep their value). */
function toInput(draft: Draft): SensorInput {
  const thresholds = {
    ...(draft.min.trim() ? { min: Number(draft.min) } : {}),
    ...(draft.max.trim() ? { max: Number(draft.max) } : {}),
  };
  return {
    ...(draft.id.trim() ? { id: draft.id.trim() } : {}),
    name: draft.name.trim(),
    type: draft.type.trim(),
    ...(draft.unit.trim() ? { unit: draft.unit.trim() } : {}),
    ...(draft.ownerId.trim() ? { ownerId: draft.ownerId.trim() } : {}),
    ...(Object.keys(thresholds).length > 0 ? { thresholds } : {}),
  };
}

/** Sensor CRUD over HTTP; the table itself is kept current by the `sensor:*` events each write emits. */
export function SensorsTable() {
  const { api, hasConnected } = useGateway();
  const [sensors, setSensors] = useState<Map<string, Sensor>>(new Map());
  const [events, setEvents] = useState<EntityEvent[]>([]);
  const [draft, setDraft] = useState<Draft>(EMPTY_DRAFT);
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  // Loaded on the first connect; again only when a reconnect could not resume the `sensors` topic.
  const [reloads, setReloads] = useState(0);
  useEffect(() => {
    if (!hasConnected) return;
    let current = true;
    // The list is paged (at most 1000 per page): follow nextCursor to the end.
    const loadAll = async (): Promise<Sensor[]> => {
      const all: Sensor[] = [];
      let cursor: string | null = null;
      do {
        const page: Page<Sensor> = await api<Page<Sensor>>('GET', `sensors?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        all.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor && current);
      return all;
    };
    loadAll().then(
      (list) => current && setSensors(new Map(list.map((sensor) => [sensor.id, sensor]))),
      (failure: Error) => current && setError(failure.message),
    );
    return () => {
      current = false;
    };
  }, [api, hasConnected, reloads]);

  const onEntity = (event: EntityEvent): void => {
    setEvents((previous) => [event, ...previous].slice(0, EVENT_LOG_LENGTH));
    setSensors((previous) => {
      const next = new Map(previous);
      if (event.event_type === 'deleted') next.delete(event.entity_id);
      else next.set(event.entity_id, event.data as Sensor);
      return next;
    });
  };
  useTopic('sensors', 'sensor:created', onEntity, { onRecoveryFailed: () => setReloads((count) => count + 1) });
  useTopic('sensors', 'sensor:updated', onEntity);
  useTopic('sensors', 'sensor:deleted', onEntity);

  const run = (action: () => Promise<unknown>): void => {
    setError(null);
    action().catch((failure: Error) => setError(failure.message));
  };
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    run(async () => {
      if (editing) {
        const { id: _id, ...patch } = toInput(draft);
        await api<Sensor>('PATCH', `sensors/${encodeURIComponent(editing)}`, patch);
      } else {
        await api<Sensor>('POST', 'sensors', toInput(draft));
      }
      setDraft(EMPTY_DRAFT);
      setEditing(null);
    });
  };
  const field = (name: keyof Draft, label: string, props: Record<string, unknown> = {}) => (
    <label>
      {label}
      <input name={name} value={draft[name]} onChange={(event) => setDraft({ ...draft, [name]: event.target.value })} {...props} />
    </label>
  );

  const rows = [...sensors.values()].sort((a, b) => a.id.localeCompare(b.id));
  return (
    <div className="sensors-page">
      <section aria-label="Sensors">
        <h2>Sensors</h2>
        <form className="sensor-form" onSubmit={submit} aria-label={editing ? 'Edit sensor' : 'New sensor'}>
          {field('id', 'Id', { placeholder: 'generated', disabled: editing !== null })}
          {field('name', 'Name', { required: true })}
          {field('type', 'Type', { required: true })}
          {field('unit', 'Unit')}
          {field('ownerId', 'Owner')}
          {field('min', 'Min', { type: 'number', step: 'any' })}
          {field('max', 'Max', { type: 'number', step: 'any' })}
          <button type="submit">{editing ? 'Save' : 'Create'}</button>
          {editing && (
            <button type="button" className="link" onClick={() => (setEditing(null), setDraft(EMPTY_DRAFT))}>
              Cancel
            </button>
          )}
        </form>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <table>
          <thead>
            <tr>
              <th>Id</th>
              <th>Name</th>
              <th>Type</th>
              <th>Unit</th>
              <th>Owner</th>
              <th>Thresholds</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((sensor) => (
              <tr key={sensor.id} data-testid="sensor-row" data-id={sensor.id}>
                <td>{sensor.id}</td>
                <td>{sensor.name}</td>
                <td>{sensor.type}</td>
                <td>{sensor.unit}</td>
                <td>{sensor.ownerId}</td>
                <td>
                  {sensor.thresholds?.min ?? '–'} … {sensor.thresholds?.max ?? '–'}
                </td>
                <td>
                  <button type="button" className="link" onClick={() => (setEditing(sensor.id), setDraft(toDraft(sensor)))}>
                    Edit
                  </button>
                  <button type="button" className="link danger" onClick={() => run(() => api('DELETE', `sensors/${encodeURIComponent(sensor.id)}`))}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-label="Entity events" className="entity-events">
        <h2>Entity events</h2>
        {events.length === 0 && <p className="muted">Create, edit or delete a sensor: its event shows here as it arrives.</p>}
        <ol>
          {events.map((event) => (
            <li
              key={`${event.timestamp}-${event.entity_id}-${event.event_type}`}
              data-testid="entity-event"
              data-event={`sensor:${event.event_type}`}
              data-id={event.entity_id}
            >
              <code>sensor:{event.event_type}</code> {event.entity_id} <span className="muted">{new Date(event.timestamp).toLocaleTimeString()}</span>
            </li>
          ))}
        </ol>
      </section>
    </div>
  );
}
