import type { RedisConnection } from '#redis';
import type { Gate, Observation, SeriesStore } from './series-store.js';

/**
 * The same sliding Welford update as the in-memory window (`windowAdd`), run atomically in Redis so that readings of
 * one series arriving at different instances share one window. O(1) per reading.
 * An anomalous reading (the same rule as `judge`: thresholds, then |z| over the limit, only once
 * the window holds `minReadings`) leaves everything as it was and is answered `admitted = 0`.
 * KEYS: stats hash, window list. ARGV: value, ts, capacity, forecastEvery, zLimit, minReadings,
 * thresholds min and max ('' for none).
 */
const OBSERVE = `
local x = tonumber(ARGV[1])
local cap = tonumber(ARGV[3])
local every = tonumber(ARGV[4])
local st = redis.call('HMGET', KEYS[1], 'mean', 'm2', 'n', 'since')
local mean = tonumber(st[1]) or 0
local m2 = tonumber(st[2]) or 0
local n = tonumber(st[3]) or 0
local since = tonumber(st[4]) or 0
local std = 0
if n > 1 then std = math.sqrt(m2 / (n - 1)) end
local beforeMean, beforeStd, beforeN = mean, std, n
if n >= tonumber(ARGV[6]) then
  local anomalous
  if (ARGV[7] ~= '' and x < tonumber(ARGV[7])) or (ARGV[8] ~= '' and x > tonumber(ARGV[8])) then
    anomalous = true
  elseif std > 0 then
    anomalous = math.abs(x - mean) / std > tonumber(ARGV[5])
  else
    anomalous = x ~= mean
  end
  if anomalous then
    return { string.format('%.17g', beforeMean), string.format('%.17g', beforeStd), beforeN, 0, {}, 0 }
  end
end
redis.call('RPUSH', KEYS[2], ARGV[2] .. ',' .. ARGV[1])
if n < cap then
  n = n + 1
  local d = x - mean
  mean = mean + d / n
  m2 = m2 + d * (x - mean)
else
  local leaving = redis.call('LPOP', KEYS[2])
  local y = tonumber(string.match(leaving, ',(.*)$'))
  local old = mean
  mean = mean + (x - y) / n
  m2 = m2 + (x - y) * (x - mean + y - old)
  if m2 < 0 then m2 = 0 end
end
since = since + 1
local due = 0
if since >= every then
  since = 0
  due = 1
end
redis.call('HSET', KEYS[1], 'mean', string.format('%.17g', mean), 'm2', string.format('%.17g', m2), 'n', n, 'since', since)
local window = {}
if due == 1 then window = redis.call('LRANGE', KEYS[2], 0, -1) end
return { string.format('%.17g', beforeMean), string.format('%.17g', beforeStd), beforeN, due, window, 1 }
`;

export class RedisSeriesStore implements SeriesStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly windowSize: number,
    private readonly forecastEvery: number,
  ) {}

  async observe(sensorId: string, metric: string, value: number, ts: number, gate: Gate): Promise<Observation> {
    const tag = `{${sensorId}/${metric}}`;
    const reply = (await this.redis.client.eval(OBSERVE, {
      keys: [this.redis.key('series', tag, 'stats'), this.redis.key('series', tag, 'window')],
      arguments: [
        String(value),
        String(ts),
        String(this.windowSize),
        String(this.forecastEvery),
        String(gate.zLimit),
        String(gate.minReadings),
        gate.thresholds?.min === undefined ? '' : String(gate.thresholds.min),
        gate.thresholds?.max === undefined ? '' : String(gate.thresholds.max),
      ],
    })) as [string, string, number, number, string[], number];
    const [mean, std, size, due, window, admitted] = reply;
    const entries = window.map((entry) => entry.split(','));
    return {
      before: { mean: Number(mean), std: Number(std) },
      size: Number(size),
      admitted: Number(admitted) === 1,
      forecastWindow: due === 1 ? { timestamps: entries.map(([t]) => Number(t)), values: entries.map(([, v]) => Number(v)) } : null,
    };
  }

  /** A scan, not a set of names kept per sensor: deleting a sensor is rare, reading is not. */
  async forget(sensorId: string): Promise<void> {
    const pattern = `${this.redis.key('series', `{${sensorId}/`).replace(/[*?[\]\\]/g, '\\$&')}*`;
    const keys: string[] = [];
    for await (const batch of this.redis.client.scanIterator({ MATCH: pattern, COUNT: 1000 })) keys.push(...batch);
    // One key at a time: in Redis Cluster each series sits in its own hash slot.
    for (const key of keys) await this.redis.client.del(key);
  }
}
