import { Module, type DynamicModule } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { DATABASE, type Database } from '#database';
import { systemClock } from './alarm-state-machine.js';
import { AlarmsController } from './alarms.controller.js';
import { AlarmsGateway } from './alarms.gateway.js';
import { ALARM_CLOCK, ALARMS_OPTIONS, resolveAlarmsOptions, type AlarmsModuleOptions } from './alarms.options.js';
import { AlarmsService } from './alarms.service.js';
import { KyselyAlarmStore } from './store/kysely-alarm.store.js';

/**
 * Alarms (CONTRACT.md §12): listens to the pipeline's `reading.judged` and `sensor.forgotten`, keeps
 * alarms in the gateway's database, publishes `alarm:*` to `alarms` and `sensor:<id>`, notifies
 * owners, and serves `/api/v1/alarms` and the `alarm:ack` / `alarm:clear` commands. Needs
 * `EventEmitterModule.forRoot()`, `DatabaseModule`, `RealtimeModule` and `NotificationsModule`.
 */
@Module({})
export class AlarmsModule {
  static forRoot(options: AlarmsModuleOptions = {}): DynamicModule {
    return {
      module: AlarmsModule,
      controllers: [AlarmsController],
      providers: [
        { provide: ALARMS_OPTIONS, useValue: resolveAlarmsOptions(options) },
        { provide: ALARM_CLOCK, useValue: systemClock },
        { provide: KyselyAlarmStore, inject: [DATABASE], useFactory: (db: Kysely<Database>) => new KyselyAlarmStore(db) },
        AlarmsService,
        AlarmsGateway,
      ],
      exports: [AlarmsService],
    };
  }
}
