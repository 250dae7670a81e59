import { useState } from 'react';
import type { AnomalyPayload } from '#contracts';
import { useTopic } from '../hooks/index.js';

const FEED_LENGTH = 50;

/** The latest anomalies, newest first. */
export function AnomalyFeed() {
  const [anomalies, setAnomalies] = useState<AnomalyPayload[]>([]);
  const { error: refusal } = useTopic('anomalies', 'anomaly:detected', (anomaly) => setAnomalies((previous) => [anomaly, ...previous].slice(0, FEED_LENGTH)));

  return (
    <section className="anomalies" aria-label="Anomalies">
      <h2>Anomalies</h2>
      {refusal && <p className="error">{refusal.message}</p>}
      {anomalies.length === 0 && <p className="muted">None yet: a verdict needs 10 readings of a metric.</p>}
      <ol>
        {anomalies.map((anomaly) => (
          <li key={anomaly.id} data-testid="anomaly" data-sensor={anomaly.sensorId} className={anomaly.severity}>
            <span className="severity">{anomaly.severity}</span> <strong>{anomaly.sensorId}</strong> {anomaly.metric} = {anomaly.value.toFixed(2)}
            <span className="muted">
              {' '}
              (expected {anomaly.expected.mean.toFixed(2)} ± {anomaly.expected.std.toFixed(2)}, z {anomaly.score.toFixed(1)}) at{' '}
              {new Date(anomaly.ts).toLocaleTimeString()}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
