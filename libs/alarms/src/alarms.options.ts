export interface AlarmsModuleOptions {
  /** Normal readings in a row that clear an anomaly or threshold alarm (`ALARM_CLEAR_AFTER`). @default 5 */
  clearAfter?: number;
  /** Silent for this many median intervals raises `inactivity` (`INACTIVITY_FACTOR`). @default 5 */
  inactivityFactor?: number;
  /** ... but never before this many seconds (`INACTIVITY_MIN_SECONDS`). @default 30 */
  inactivityMinSeconds?: number;
  /** An unacknowledged critical alarm notifies its owner again after this many seconds (`ALARM_ESCALATE_AFTER`); 0 is off. @default 0 */
  escalateAfterSeconds?: number;
  /** How often silent series and due escalations are looked for (ms). @default 1000 */
  sweepMs?: number;
  /** How often the list of active alarms is reread, to see those raised by other instances (ms). @default 2000 */
  syncMs?: number;
}

export type ResolvedAlarmsOptions = Required<AlarmsModuleOptions>;
export const ALARMS_OPTIONS = Symbol('ALARMS_OPTIONS');
/** The {@link Clock} the service reads; tests may provide their own. */
export const ALARM_CLOCK = Symbol('ALARM_CLOCK');

export function resolveAlarmsOptions(options: AlarmsModuleOptions): ResolvedAlarmsOptions {
  return { clearAfter: 5, inactivityFactor: 5, inactivityMinSeconds: 30, escalateAfterSeconds: 0, sweepMs: 1000, syncMs: 2000, ...options };
}
