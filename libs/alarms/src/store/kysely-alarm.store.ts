import { sql, type Kysely, type Selectable } from 'kysely';
import type { AlarmCounts, AlarmSeverity, AlarmStatus, AlarmType } from '#contracts';
import type { AlarmsTable, Database } from '#database';
import type { AlarmRecord, AlarmSignal } from '../alarm-state-machine.js';

export interface AlarmQuery {
  status?: AlarmStatus;
  acknowledged?: boolean;
  severity?: AlarmSeverity;
  sensorId?: string;
  /** The id of the last alarm of the previous page. */
  cursor?: string;
  limit: number;
}

export interface AlarmPage {
  items: AlarmRecord[];
  nextCursor: string | null;
}

export interface SeriesAlarmKey {
  sensorId: string;
  metric: string;
  type: AlarmType;
}

const ACTIVE = sql.lit('active');

/**
 * Alarms in the gateway's database (SQLite or PostgreSQL). Every change is one statement that
 * names the state it expects (`status = 'active'`, `acknowledged = 0`), so instances racing on the
 * same alarm agree on who changed it: whoever gets a row back announces it.
 */
export class KyselyAlarmStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * `raise` of the state machine in one statement: insert the new alarm, or, when the partial
   * unique index already holds an active one for the series, update that one instead. Atomic on
   * both engines: two instances raising at once end with one alarm counted twice.
   */
  async raise(signal: AlarmSignal, id: string, now: number): Promise<AlarmRecord> {
    const row = await this.db
      .insertInto('alarms')
      .values({
        id,
        sensor_id: signal.sensorId,
        metric: signal.metric,
        type: signal.type,
        severity: signal.severity,
        status: 'active',
        acknowledged: 0,
        start_ts: signal.ts,
        last_ts: signal.ts,
        count: 1,
        details: JSON.stringify(signal.details),
        normal_streak: 0,
        peak_severity: signal.severity,
        previous_peak: null,
        notified_at: now,
      })
      .onConflict((conflict) =>
        conflict
          .columns(['sensor_id', 'metric', 'type'])
          .where(sql.ref('status'), '=', ACTIVE)
          // Every right-hand side reads the row as it was: `alarms.x` is the old value.
          .doUpdateSet({
            severity: sql`excluded.severity`,
            last_ts: sql`case when excluded.last_ts > alarms.last_ts then excluded.last_ts else alarms.last_ts end`,
            count: sql`alarms.count + 1`,
            details: sql`excluded.details`,
            normal_streak: 0,
            peak_severity: sql`case when alarms.peak_severity = 'critical' or excluded.severity = 'critical' then 'critical' else 'warning' end`,
            previous_peak: sql`alarms.peak_severity`,
            notified_at: sql`case when excluded.severity = 'critical' and alarms.peak_severity <> 'critical' then excluded.notified_at else alarms.notified_at end`,
          }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }

  /**
   * A normal reading of a series: its active anomaly and threshold alarms count it, and those
   * reaching `clearAfter` in a row clear, in the same statement. Returns the alarms that cleared.
   */
  async normalReading(sensorId: string, metric: string, clearAfter: number, now: number): Promise<AlarmRecord[]> {
    const rows = await this.db
      .updateTable('alarms')
      .set({
        normal_streak: sql`normal_streak + 1`,
        // Literals, not parameters: PostgreSQL cannot type a parameter inside CASE (both are our own integers).
        status: sql`case when normal_streak + 1 >= ${sql.lit(Math.trunc(clearAfter))} then 'cleared' else 'active' end`,
        clear_ts: sql`case when normal_streak + 1 >= ${sql.lit(Math.trunc(clearAfter))} then ${sql.lit(Math.trunc(now))} else null end`,
      })
      .where('sensor_id', '=', sensorId)
      .where('metric', '=', metric)
      .where('status', '=', 'active')
      .where('type', 'in', ['anomaly', 'threshold'])
      .returningAll()
      .execute();
    return rows.filter((row) => row.status === 'cleared').map(toRecord);
  }

  /** Clears the series' active alarm of this type (a silent series reported again, a sensor deleted); null when there was none. */
  async clearActive(key: SeriesAlarmKey, now: number): Promise<AlarmRecord | null> {
    const row = await this.db
      .updateTable('alarms')
      .set({ status: 'cleared', clear_ts: now })
      .where('sensor_id', '=', key.sensorId)
      .where('metric', '=', key.metric)
      .where('type', '=', key.type)
      .where('status', '=', 'active')
      .returningAll()
      .executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  /** A deleted sensor's active alarms clear. */
  async clearSensor(sensorId: string, now: number): Promise<AlarmRecord[]> {
    const rows = await this.db
      .updateTable('alarms')
      .set({ status: 'cleared', clear_ts: now })
      .where('sensor_id', '=', sensorId)
      .where('status', '=', 'active')
      .returningAll()
      .execute();
    return rows.map(toRecord);
  }

  /** `changed` is false when it was acknowledged already; null when there is no such alarm. */
  async acknowledge(id: string, userId: string, now: number): Promise<{ alarm: AlarmRecord; changed: boolean } | null> {
    const row = await this.db
      .updateTable('alarms')
      .set({ acknowledged: 1, ack_ts: now, ack_by: userId })
      .where('id', '=', id)
      .where('acknowledged', '=', 0)
      .returningAll()
      .executeTakeFirst();
    if (row) return { alarm: toRecord(row), changed: true };
    const existing = await this.get(id);
    return existing ? { alarm: existing, changed: false } : null;
  }

  /** `changed` is false when it was cleared already; null when there is no such alarm. */
  async clear(id: string, userId: string, now: number): Promise<{ alarm: AlarmRecord; changed: boolean } | null> {
    const row = await this.db
      .updateTable('alarms')
      .set({ status: 'cleared', clear_ts: now, clear_by: userId })
      .where('id', '=', id)
      .where('status', '=', 'active')
      .returningAll()
      .executeTakeFirst();
    if (row) return { alarm: toRecord(row), changed: true };
    const existing = await this.get(id);
    return existing ? { alarm: existing, changed: false } : null;
  }

  async get(id: string): Promise<AlarmRecord | null> {
    const row = await this.db.selectFrom('alarms').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  /** Newest first; an unknown cursor gives an empty page, not page one again. */
  async list(query: AlarmQuery): Promise<AlarmPage> {
    let select = this.db.selectFrom('alarms').selectAll();
    if (query.cursor !== undefined) {
      const at = await this.db.selectFrom('alarms').select('seq').where('id', '=', query.cursor).executeTakeFirst();
      if (!at) return { items: [], nextCursor: null };
      select = select.where('seq', '<', at.seq);
    }
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.acknowledged !== undefined) select = select.where('acknowledged', '=', query.acknowledged ? 1 : 0);
    if (query.severity !== undefined) select = select.where('severity', '=', query.severity);
    if (query.sensorId !== undefined) select = select.where('sensor_id', '=', query.sensorId);
    const rows = await select
      .orderBy('seq', 'desc')
      .limit(query.limit + 1)
      .execute();
    const items = rows.slice(0, query.limit).map(toRecord);
    return { items, nextCursor: rows.length > query.limit ? items[items.length - 1]!.id : null };
  }

  async counts(): Promise<AlarmCounts> {
    const rows = await this.db
      .selectFrom('alarms')
      .select((eb) => ['status', 'severity', 'acknowledged', eb.fn.countAll<number>().as('n')])
      .groupBy(['status', 'severity', 'acknowledged'])
      .execute();
    const counts: AlarmCounts = { active: 0, cleared: 0, unacknowledged: 0, bySeverity: { warning: 0, critical: 0 } };
    for (const row of rows) {
      const n = Number(row.n);
      if (row.status === 'cleared') {
        counts.cleared += n;
        continue;
      }
      counts.active += n;
      if (Number(row.acknowledged) === 0) counts.unacknowledged += n;
      if (row.severity === 'warning' || row.severity === 'critical') counts.bySeverity[row.severity] += n;
    }
    return counts;
  }

  /** Which series have which active alarms: what the service checks each reading against. */
  async activeKeys(): Promise<SeriesAlarmKey[]> {
    const rows = await this.db.selectFrom('alarms').select(['sensor_id', 'metric', 'type']).where('status', '=', 'active').execute();
    return rows.map((row) => ({ sensorId: row.sensor_id, metric: row.metric, type: row.type as AlarmType }));
  }

  /** Active, unacknowledged critical alarms whose owner was last told at or before `notifiedBefore`. */
  async dueForEscalation(notifiedBefore: number, limit: number): Promise<AlarmRecord[]> {
    const rows = await this.db
      .selectFrom('alarms')
      .selectAll()
      .where('status', '=', 'active')
      .where('acknowledged', '=', 0)
      .where('severity', '=', 'critical')
      .where('notified_at', '<=', notifiedBefore)
      .orderBy('notified_at')
      .limit(limit)
      .execute();
    return rows.map(toRecord);
  }

  /** Takes the escalation of one alarm: true for exactly one of the instances that try with the same `notifiedAt`. */
  async claimEscalation(alarm: AlarmRecord, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('alarms')
      .set({ notified_at: now })
      .where('id', '=', alarm.id)
      .where('notified_at', '=', alarm.notifiedAt)
      .where('status', '=', 'active')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function toRecord(row: Selectable<AlarmsTable>): AlarmRecord {
  return {
    id: row.id,
    sensorId: row.sensor_id,
    metric: row.metric,
    type: row.type as AlarmType,
    severity: row.severity as AlarmSeverity,
    status: row.status as AlarmStatus,
    acknowledged: Number(row.acknowledged) === 1,
    startTs: Number(row.start_ts),
    lastTs: Number(row.last_ts),
    count: Number(row.count),
    ...(row.ack_ts === null ? {} : { ackTs: Number(row.ack_ts) }),
    ...(row.ack_by === null ? {} : { ackBy: row.ack_by }),
    ...(row.clear_ts === null ? {} : { clearTs: Number(row.clear_ts) }),
    ...(row.clear_by === null ? {} : { clearBy: row.clear_by }),
    details: JSON.parse(row.details) as Record<string, unknown>,
    normalStreak: Number(row.normal_streak),
    peakSeverity: row.peak_severity as AlarmSeverity,
    previousPeak: (row.previous_peak as AlarmSeverity | null) ?? null,
    notifiedAt: Number(row.notified_at),
  };
}
