import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { Kysely } from 'kysely';
import { ErrorCode, sensorTopic, type AlarmPayload, type AlarmType, type AnomalyPayload } from '#contracts';
import type { Identity } from '#auth';
import { DATABASE_CONNECTION, type Database, type DatabaseConnection } from '#database';
import { NotificationsService } from '#notifications';
import { WebSocketService } from '#realtime';
import { READING_JUDGED, SENSOR_FORGOTTEN, type ReadingJudgedEvent, type SensorForgottenEvent } from '#telemetry';
import { outcomeOf, toPayload, type AlarmRecord, type AlarmSignal, type Clock, type RaiseOutcome } from './alarm-state-machine.js';
import { ALARM_CLOCK, ALARMS_OPTIONS, type ResolvedAlarmsOptions } from './alarms.options.js';
import { InactivityTracker, type SilentSeries } from './inactivity/inactivity-tracker.js';
import { KyselyAlarmStore, type AlarmPage, type AlarmQuery } from './store/kysely-alarm.store.js';

/** What a series' last reading told about its sensor: enough to name it to its owner. */
interface SensorRef {
  name: string;
  ownerId?: string;
}

export type AlarmCommandResult = { ok: true; alarm: AlarmPayload } | { ok: false; code: typeof ErrorCode.NOT_FOUND | typeof ErrorCode.FORBIDDEN };

/** Alarm work waiting on the database, at most; beyond it judged readings are dropped (and logged), not queued without end. */
const MAX_PENDING = 10_000;
/** Escalations handled per sweep. */
const ESCALATIONS_PER_SWEEP = 100;

const seriesKey = (sensorId: string, metric: string): string => `${sensorId}/${metric}`;

/**
 * Turns judged readings into alarms (CONTRACT.md §12). Listens to the pipeline's `reading.judged`;
 * each series' work runs in order (one chain per series), so a raise and the normal readings
 * after it are applied in the order they arrived. Which series have active alarms is kept here
 * (reread from the database every `syncMs`, to see other instances' alarms), so a normal reading
 * of a series without an alarm costs no query. One sweep timer looks for silent series and due
 * escalations.
 */
@Injectable()
export class AlarmsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AlarmsService.name);
  private readonly tracker: InactivityTracker<SensorRef>;
  private readonly db: Kysely<Database>;
  /** Series key -> types with an active alarm. */
  private active = new Map<string, Set<AlarmType>>();
  private readonly chains = new Map<string, Promise<void>>();
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private lastSync = 0;

  constructor(
    @Inject(ALARMS_OPTIONS) private readonly options: ResolvedAlarmsOptions,
    @Inject(ALARM_CLOCK) private readonly clock: Clock,
    private readonly store: KyselyAlarmStore,
    @Inject(DATABASE_CONNECTION) database: DatabaseConnection,
    private readonly websocket: WebSocketService,
    private readonly notifications: NotificationsService,
  ) {
    this.tracker = new InactivityTracker({ factor: options.inactivityFactor, minMs: options.inactivityMinSeconds * 1000 }, clock);
    this.db = database.db;
    // Alarm work already queued finishes while the database is still open (after HTTP and MQTT stop).
    database.beforeClose(() => this.drain());
  }

  async onApplicationBootstrap(): Promise<void> {
    // A database that is briefly away must not stop the start: the next sweeps read the list again.
    await this.sync().catch((error: Error) => this.logger.warn(`Reading the active alarms failed: ${error.message}`));
    this.timer = setInterval(() => void this.sweep(), this.options.sweepMs);
    this.timer.unref();
  }

  onApplicationShutdown(): Promise<void> {
    return this.drain();
  }

  private async drain(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  @OnEvent(READING_JUDGED)
  onReadingJudged(event: ReadingJudgedEvent): void {
    const { sensor, reading } = event;
    // Seen at once, not when its turn comes: the sweep must not call a series silent that just reported.
    // The catalog's own sensor object, not a copy of its name and owner: one object per series fewer.
    const wasSilent = this.tracker.seen(reading.sensorId, reading.metric, sensor);
    this.enqueue(seriesKey(reading.sensorId, reading.metric), () => this.judged(event, wasSilent));
  }

  @OnEvent(SENSOR_FORGOTTEN)
  onSensorForgotten({ sensorId }: SensorForgottenEvent): void {
    this.tracker.forget(sensorId);
    this.enqueue(`sensor:${sensorId}`, async () => {
      for (const alarm of await this.store.clearSensor(sensorId, this.clock.now())) {
        this.unmark(alarm);
        this.announce('alarm:cleared', alarm);
      }
    });
  }

  list(query: AlarmQuery): Promise<AlarmPage> {
    return this.store.list(query);
  }

  counts() {
    return this.store.counts();
  }

  acknowledge(alarmId: string, identity: Identity): Promise<AlarmCommandResult> {
    return this.command(alarmId, identity, 'alarm:acknowledged', (id, userId, now) => this.store.acknowledge(id, userId, now));
  }

  clear(alarmId: string, identity: Identity): Promise<AlarmCommandResult> {
    return this.command(alarmId, identity, 'alarm:cleared', (id, userId, now) => this.store.clear(id, userId, now));
  }

  /** One sweep: silent series, due escalations, and now and then the list of active alarms. Public for tests. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const silent of this.tracker.sweep()) this.enqueue(seriesKey(silent.sensorId, silent.metric), () => this.silent(silent));
      if (this.options.escalateAfterSeconds > 0) await this.escalate();
      if (this.clock.now() - this.lastSync >= this.options.syncMs) await this.sync();
    } catch (error) {
      this.logger.warn(`Alarm sweep failed: ${(error as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }

  private async judged({ sensor, reading, verdict, anomaly }: ReadingJudgedEvent, wasSilent: boolean): Promise<void> {
    const key = seriesKey(reading.sensorId, reading.metric);
    const now = this.clock.now();
    if (wasSilent || this.active.get(key)?.has('inactivity')) {
      const cleared = await this.store.clearActive({ sensorId: reading.sensorId, metric: reading.metric, type: 'inactivity' }, now);
      this.active.get(key)?.delete('inactivity');
      if (cleared) this.announce('alarm:cleared', cleared);
    }
    if (verdict) {
      const type: AlarmType = verdict.reason === 'threshold' ? 'threshold' : 'anomaly';
      const details = {
        value: reading.value,
        expected: verdict.expected,
        score: verdict.score,
        ...(sensor.thresholds ? { thresholds: sensor.thresholds } : {}),
      };
      const alarm = await this.store.raise(
        { sensorId: reading.sensorId, metric: reading.metric, type, severity: verdict.severity, ts: reading.ts, details },
        randomUUID(),
        now,
      );
      await this.raised(alarm, sensor, anomaly);
      return;
    }
    const types = this.active.get(key);
    if (!types?.has('anomaly') && !types?.has('threshold')) return;
    for (const alarm of await this.store.normalReading(reading.sensorId, reading.metric, this.options.clearAfter, now)) {
      this.unmark(alarm);
      this.announce('alarm:cleared', alarm);
    }
  }

  private async silent({ sensorId, metric, silentForMs, medianIntervalMs, context }: SilentSeries<SensorRef>): Promise<void> {
    const now = this.clock.now();
    // In a cluster the shared subscription may hand this series' readings to another instance: the
    // stored latest reading (written by whichever instance got it) then says it is not silent. The
    // instance that got the last reading raises the alarm when the series really goes quiet.
    const latest = await this.db.selectFrom('latest_readings').select('ts').where('sensor_id', '=', sensorId).where('metric', '=', metric).executeTakeFirst();
    if (latest && now - Number(latest.ts) < silentForMs) return;
    const signal: AlarmSignal = { sensorId, metric, type: 'inactivity', severity: 'warning', ts: now, details: { silentForMs, medianIntervalMs } };
    await this.raised(await this.store.raise(signal, randomUUID(), now), context, null);
  }

  private async raised(alarm: AlarmRecord, sensor: SensorRef, anomaly: AnomalyPayload | null): Promise<void> {
    this.mark(alarm);
    const outcome = outcomeOf(alarm);
    this.announce(outcome.event, alarm);
    if (outcome.notify && sensor.ownerId) await this.notifyOwner(sensor.ownerId, sensor.name, alarm, outcome.notify, anomaly);
  }

  private async escalate(): Promise<void> {
    const now = this.clock.now();
    for (const alarm of await this.store.dueForEscalation(now - this.options.escalateAfterSeconds * 1000, ESCALATIONS_PER_SWEEP)) {
      // Several instances may find it due; one claims it.
      if (!(await this.store.claimEscalation(alarm, now))) continue;
      const sensor = await this.db.selectFrom('sensors').select(['name', 'owner_id']).where('id', '=', alarm.sensorId).executeTakeFirst();
      if (sensor?.owner_id) await this.notifyOwner(sensor.owner_id, sensor.name, alarm, 'escalated', null);
    }
  }

  private async notifyOwner(
    ownerId: string,
    sensorName: string,
    alarm: AlarmRecord,
    why: RaiseOutcome['notify'] | 'escalated',
    anomaly: AnomalyPayload | null,
  ): Promise<void> {
    const level = alarm.severity === 'critical' ? 'Critical' : 'Warning';
    const title = `${why === 'escalated' ? `Unacknowledged ${level.toLowerCase()}` : level}: ${sensorName} ${alarm.metric}`;
    await this.notifications.notifyOwner(ownerId, {
      title: title.slice(0, 200),
      message: `${describe(alarm)}${why === 'severity_rose' ? ' (severity rose)' : ''}${why === 'escalated' ? `; active since ${new Date(alarm.startTs).toISOString()}, ${alarm.count} times` : ''}`,
      data: { alarm: toPayload(alarm), reason: why, ...(anomaly ? { anomaly } : {}) },
    });
  }

  private async command(
    alarmId: string,
    identity: Identity,
    event: 'alarm:acknowledged' | 'alarm:cleared',
    change: (id: string, userId: string, now: number) => Promise<{ alarm: AlarmRecord; changed: boolean } | null>,
  ): Promise<AlarmCommandResult> {
    const existing = await this.store.get(alarmId);
    if (!existing) return { ok: false, code: ErrorCode.NOT_FOUND };
    if (!(await this.mayHandle(existing.sensorId, identity))) return { ok: false, code: ErrorCode.FORBIDDEN };
    const result = await change(alarmId, identity.userId, this.clock.now());
    if (!result) return { ok: false, code: ErrorCode.NOT_FOUND };
    if (result.changed) {
      if (result.alarm.status === 'cleared') this.unmark(result.alarm);
      this.announce(event, result.alarm);
    }
    return { ok: true, alarm: toPayload(result.alarm) };
  }

  /** Admins and services handle every alarm; a user, those of sensors they own or nobody owns (as for changing the sensor). */
  private async mayHandle(sensorId: string, identity: Identity): Promise<boolean> {
    if (identity.role === 'admin' || identity.role === 'service') return true;
    const sensor = await this.db.selectFrom('sensors').select('owner_id').where('id', '=', sensorId).executeTakeFirst();
    return !sensor?.owner_id || sensor.owner_id === identity.userId;
  }

  private announce(event: 'alarm:created' | 'alarm:updated' | 'alarm:acknowledged' | 'alarm:cleared', alarm: AlarmRecord): void {
    this.websocket.emitToTopic(['alarms', sensorTopic(alarm.sensorId)], event, toPayload(alarm));
  }

  private mark(alarm: AlarmRecord): void {
    const key = seriesKey(alarm.sensorId, alarm.metric);
    const types = this.active.get(key) ?? new Set<AlarmType>();
    types.add(alarm.type);
    this.active.set(key, types);
  }

  private unmark(alarm: AlarmRecord): void {
    const key = seriesKey(alarm.sensorId, alarm.metric);
    const types = this.active.get(key);
    types?.delete(alarm.type);
    if (types?.size === 0) this.active.delete(key);
  }

  private async sync(): Promise<void> {
    const active = new Map<string, Set<AlarmType>>();
    for (const { sensorId, metric, type } of await this.store.activeKeys()) {
      const key = seriesKey(sensorId, metric);
      active.set(key, (active.get(key) ?? new Set<AlarmType>()).add(type));
    }
    this.active = active;
    this.lastSync = this.clock.now();
  }

  /** Runs `task` after the series' earlier work; a failure is logged and does not stop the chain. */
  private enqueue(key: string, task: () => Promise<void>): void {
    if (this.pending >= MAX_PENDING) {
      this.logger.warn(`Alarm work for ${key} dropped: ${MAX_PENDING} tasks already wait on the database`);
      return;
    }
    this.pending += 1;
    const next = (this.chains.get(key) ?? Promise.resolve())
      .then(task)
      .catch((error: Error) => this.logger.warn(`Alarm work for ${key} failed: ${error.message}`))
      .finally(() => {
        this.pending -= 1;
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }
}

function describe(alarm: AlarmRecord): string {
  const details = alarm.details as {
    value?: number;
    score?: number;
    expected?: { mean: number; std: number };
    silentForMs?: number;
    medianIntervalMs?: number;
  };
  switch (alarm.type) {
    case 'threshold':
      return `${alarm.metric} = ${details.value} is outside its thresholds`;
    case 'anomaly':
      return `${alarm.metric} = ${details.value} is ${details.score} standard deviations from the mean (expected ${round(details.expected?.mean)} ± ${round(details.expected?.std)})`;
    case 'inactivity':
      return `${alarm.metric} has not reported for ${Math.round((details.silentForMs ?? 0) / 1000)} s (usually every ${round((details.medianIntervalMs ?? 0) / 1000)} s)`;
  }
}

function round(value: number | undefined): number {
  return Math.round((value ?? 0) * 1000) / 1000;
}
