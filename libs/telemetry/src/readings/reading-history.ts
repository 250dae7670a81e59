import type { ReadingPayload } from '#contracts';

export interface HistoryQuery {
  sensorId: string;
  metric?: string;
  limit: number;
}

/** Recent readings per sensor, bounded. In memory for one instance; Redis for a cluster. */
export interface ReadingHistory {
  append(reading: ReadingPayload): Promise<void>;
  /** Newest first. */
  recent(query: HistoryQuery): Promise<ReadingPayload[]>;
}

export const READING_HISTORY = Symbol('READING_HISTORY');

export class InMemoryReadingHistory implements ReadingHistory {
  private readonly bySensor = new Map<string, ReadingPayload[]>();

  constructor(private readonly perSensor: number) {}

  async append(reading: ReadingPayload): Promise<void> {
    let readings = this.bySensor.get(reading.sensorId);
    if (!readings) {
      readings = [];
      this.bySensor.set(reading.sensorId, readings);
    }
    readings.push(reading);
    // Trim in chunks so the per-reading cost stays O(1) amortised.
    if (readings.length > this.perSensor * 1.25) readings.splice(0, readings.length - this.perSensor);
  }

  async recent({ sensorId, metric, limit }: HistoryQuery): Promise<ReadingPayload[]> {
    const readings = this.bySensor.get(sensorId) ?? [];
    const result: ReadingPayload[] = [];
    for (let i = readings.length - 1; i >= 0 && result.length < limit && readings.length - i <= this.perSensor; i--) {
      if (metric === undefined || readings[i]!.metric === metric) result.push(readings[i]!);
    }
    return result;
  }
}
