import { useCallback, useEffect, useState } from 'react';
import type { AlarmPayload, Page } from '#contracts';
import { useAlarmEvents, useGateway } from '../hooks/index.js';
import { alarmsPath, mergeAlarm, type AlarmFilters } from './alarm-data.js';

const INITIAL_FILTERS: AlarmFilters = { status: 'active', severity: '', acknowledged: '' };

/**
 * Alarms with filters, newest first, paged by cursor; acknowledge and clear each one. Every
 * `alarm:*` event updates the list in place, so another tab's (or user's) acknowledgement shows here.
 */
export function AlarmsPage() {
  const { api, hasConnected } = useGateway();
  const [filters, setFilters] = useState<AlarmFilters>(INITIAL_FILTERS);
  const [items, setItems] = useState<AlarmPayload[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  const load = useCallback(
    (cursor: string | null): void => {
      api<Page<AlarmPayload>>('GET', alarmsPath(filters, cursor)).then(
        (page) => {
          setFailure(null);
          setItems((previous) => (cursor ? [...previous, ...page.items.filter((a) => !previous.some((p) => p.id === a.id))] : page.items));
          setNextCursor(page.nextCursor);
        },
        (error: Error) => setFailure(error.message),
      );
    },
    [api, filters],
  );
  useEffect(() => {
    if (hasConnected) load(null);
  }, [hasConnected, load]);
  const onAlarm = (alarm: AlarmPayload): void => setItems((previous) => mergeAlarm(previous, alarm, filters));
  useAlarmEvents(onAlarm, () => load(null));

  const act = (alarm: AlarmPayload, action: 'ack' | 'clear') => (): void => {
    setFailure(null);
    api<AlarmPayload>('POST', `alarms/${alarm.id}/${action}`).then(onAlarm, (error: Error) => setFailure(error.message));
  };
  const filter = (name: keyof AlarmFilters, label: string, options: [string, string][]) => (
    <label>
      {label}
      <select value={filters[name]} onChange={(event) => setFilters({ ...filters, [name]: event.target.value })}>
        {options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <section className="alarms-page" aria-label="Alarms">
      <div className="alarms-head">
        <h2>Alarms</h2>
        <form className="alarm-filters" aria-label="Alarm filters" onSubmit={(event) => event.preventDefault()}>
          {filter('status', 'Status', [
            ['active', 'active'],
            ['cleared', 'cleared'],
            ['', 'any'],
          ])}
          {filter('severity', 'Severity', [
            ['', 'any'],
            ['critical', 'critical'],
            ['warning', 'warning'],
          ])}
          {filter('acknowledged', 'Acknowledged', [
            ['', 'any'],
            ['false', 'no'],
            ['true', 'yes'],
          ])}
        </form>
      </div>
      {failure && (
        <p className="error" role="alert">
          {failure}
        </p>
      )}
      {items.length === 0 && <p className="muted">No alarms match.</p>}
      {items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Severity</th>
              <th>Sensor</th>
              <th>Type</th>
              <th>Count</th>
              <th>Since</th>
              <th>Last</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((alarm) => (
              <tr
                key={alarm.id}
                data-testid="alarm"
                data-id={alarm.id}
                data-sensor={alarm.sensorId}
                data-status={alarm.status}
                data-acknowledged={alarm.acknowledged}
                className={alarm.severity}
              >
                <td>
                  <span className="severity">{alarm.severity}</span>
                </td>
                <td>
                  <strong>{alarm.sensorId}</strong> {alarm.metric}
                </td>
                <td>{alarm.type}</td>
                <td>{alarm.count}</td>
                <td>{new Date(alarm.startTs).toLocaleTimeString()}</td>
                <td>{new Date(alarm.lastTs).toLocaleTimeString()}</td>
                <td className="state">
                  {alarm.status}
                  {alarm.acknowledged && <span className="muted"> · acknowledged by {alarm.ackBy}</span>}
                  {alarm.status === 'cleared' && <span className="muted"> · {alarm.clearBy ? `cleared by ${alarm.clearBy}` : 'cleared by itself'}</span>}
                </td>
                <td className="actions">
                  <button type="button" disabled={alarm.acknowledged} onClick={act(alarm, 'ack')}>
                    Acknowledge
                  </button>
                  <button type="button" disabled={alarm.status === 'cleared'} onClick={act(alarm, 'clear')}>
                    Clear
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextCursor && (
        <button type="button" className="link" onClick={() => load(nextCursor)}>
          More
        </button>
      )}
    </section>
  );
}
