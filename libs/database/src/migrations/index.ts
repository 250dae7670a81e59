import type { Migration, MigrationProvider } from 'kysely';
import type { DatabaseDialect } from '../schema.js';
import { initial } from './0001-initial.js';
import { alarms } from './0002-alarms.js';
import { readingsRollup } from './0003-readings-rollup.js';

/**
 * Every migration, in order, in code (no files to find at run time). Names sort in the order they
 * run; a later issue adds `0002-alarms` and so on. Never edit an applied one: add the next.
 */
export class GatewayMigrations implements MigrationProvider {
  constructor(private readonly dialect: DatabaseDialect) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '0001-initial': initial(this.dialect),
      '0002-alarms': alarms(this.dialect),
      '0003-readings-rollup': readingsRollup(this.dialect),
    };
  }
}
