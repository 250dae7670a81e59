import { useEffect, useState } from 'react';
import type { RealtimeStats } from '#contracts';
import { useGateway } from '../hooks/index.js';

const POLL_MS = 2000;

/** `GET /api/v1/ws/stats` (role admin), polled. */
export function AdminStats() {
  const { api, identity } = useGateway();
  const [stats, setStats] = useState<RealtimeStats | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    const load = (): void => {
      api<RealtimeStats>('GET', 'ws/stats').then(
        (next) => current && (setStats(next), setError(null)),
        (failure: Error) => current && setError(failure.message),
      );
    };
    load();
    const timer = setInterval(load, POLL_MS);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [api]);

  const topics = stats ? Object.entries(stats.topics).sort(([a], [b]) => a.localeCompare(b)) : [];
  return (
    <section className="admin" aria-label="Gateway stats">
      <h2>Gateway stats</h2>
      {error && (
        <p className="error" role="alert">
          {error}
          {identity?.role !== 'admin' && ' (this page needs a token with role admin)'}
        </p>
      )}
      {stats && (
        <>
          <dl className="figures" data-testid="stats">
            <div>
              <dt>Instances</dt>
              <dd>{stats.instances}</dd>
            </div>
            <div>
              <dt>Connections</dt>
              <dd data-testid="stats-connections" data-value={stats.connections}>
                {stats.connections}
              </dd>
            </div>
            <div>
              <dt>Socket.IO / plain WS / SSE</dt>
              <dd>
                {stats.connectionsByProtocol.socketio} / {stats.connectionsByProtocol.ws} / {stats.connectionsByProtocol.sse}
              </dd>
            </div>
            <div>
              <dt>Users</dt>
              <dd>{stats.users}</dd>
            </div>
          </dl>
          <table>
            <thead>
              <tr>
                <th>Topic</th>
                <th>Subscribers</th>
              </tr>
            </thead>
            <tbody>
              {topics.map(([topic, { subscribers }]) => (
                <tr key={topic}>
                  <td>{topic}</td>
                  <td>{subscribers}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
