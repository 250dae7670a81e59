import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Alarms (CONTRACT.md §12). The partial unique index is what keeps one active alarm per
 * (sensor, metric, type) across the cluster: raising is an INSERT ... ON CONFLICT against it,
 * so two instances raising at once end with one row, whatever the timing.
 */
export function alarms(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  const ms = pg ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('alarms')
        .addColumn('seq', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('id', 'varchar(36)', (c) => c.notNull().unique())
        .addColumn('sensor_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('metric', 'varchar(64)', (c) => c.notNull())
        .addColumn('type', 'varchar(16)', (c) => c.notNull())
        .addColumn('severity', 'varchar(16)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('acknowledged', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('start_ts', ms, (c) => c.notNull())
        .addColumn('last_ts', ms, (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('ack_ts', ms)
        .addColumn('ack_by', 'varchar(64)')
        .addColumn('clear_ts', ms)
        .addColumn('clear_by', 'varchar(64)')
        .addColumn('details', 'text', (c) => c.notNull())
        // Bookkeeping, not shown: normal readings in a row, the highest severity the owner was
        // told about (and its value before the last raise), when the owner was last told.
        .addColumn('normal_streak', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('peak_severity', 'varchar(16)', (c) => c.notNull())
        .addColumn('previous_peak', 'varchar(16)')
        .addColumn('notified_at', ms, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('alarms_one_active')
        .on('alarms')
        .columns(['sensor_id', 'metric', 'type'])
        .unique()
        .where(sql.ref('status'), '=', sql.lit('active'))
        .execute();
      await db.schema.createIndex('alarms_status_seq').on('alarms').columns(['status', 'seq']).execute();
      await db.schema.createIndex('alarms_sensor_seq').on('alarms').columns(['sensor_id', 'seq']).execute();
    },
  };
}
