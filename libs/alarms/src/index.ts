export { AlarmsModule } from './alarms.module.js';
export { AlarmsService, type AlarmCommandResult } from './alarms.service.js';
export { resolveAlarmsOptions, type AlarmsModuleOptions } from './alarms.options.js';
export * from './alarm-state-machine.js';
export { InactivityTracker, type InactivityOptions, type SilentSeries } from './inactivity/inactivity-tracker.js';
export { KyselyAlarmStore, type AlarmPage, type AlarmQuery, type SeriesAlarmKey } from './store/kysely-alarm.store.js';
