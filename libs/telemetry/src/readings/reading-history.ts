import type { RedisConnection } from '#redis';
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

/** A capped list per sensor, newest first. */
export class RedisReadingHistory implements ReadingHistory {
  constructor(
    private readonly redis: RedisConnection,
    private readonly perSensor: number,
  ) {}

  async append(reading: ReadingPayload): Promise<void> {
    const key = this.redis.key('history', reading.sensorId);
    await this.redis.client.multi().lPush(key, JSON.stringify(reading)).lTrim(key, 0, this.perSensor - 1).exec();
  }

  async recent({ sensorId, metric, limit }: HistoryQuery): Promise<ReadingPayload[]> {
    const readings = (await this.redis.client.lRange(this.redis.key('history', sensorId), 0, -1)).map((raw) => JSON.parse(raw) as ReadingPayload);
    return readings.filter((reading) => metric === undefined || reading.metric === metric).slice(0, limit);
  }
}
