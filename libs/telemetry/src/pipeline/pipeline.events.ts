import type { AnomalyPayload, ReadingPayload, Sensor } from '#contracts';
import type { Verdict } from '../anomalies/anomaly-detector.js';

/**
 * Domain events of the readings pipeline (EventEmitter2, `@nestjs/event-emitter`): in-process
 * only, never sent to clients. Listeners run after the pipeline has moved on: they cannot slow
 * ingestion down, and their failures are theirs to handle.
 */
export const READING_JUDGED = 'reading.judged';
export const SENSOR_FORGOTTEN = 'sensor.forgotten';

/** Every admitted reading, once judged: `anomaly` is set when it was anomalous (then also `anomaly:detected`). */
export interface ReadingJudgedEvent {
  sensor: Sensor;
  reading: ReadingPayload;
  verdict: Verdict | null;
  anomaly: AnomalyPayload | null;
}

export interface SensorForgottenEvent {
  sensorId: string;
}
