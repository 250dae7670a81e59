import { Global, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { DatabaseConnection, type DatabaseOptions } from './database-connection.js';

/** The app's `Kysely<Database>`. */
export const DATABASE = Symbol('DATABASE');
/** The {@link DatabaseConnection} (dialect, `beforeClose`, `ping`). */
export const DATABASE_CONNECTION = Symbol('DATABASE_CONNECTION');

class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(private readonly connection: DatabaseConnection) {}

  /** After the HTTP server and the MQTT transport have closed, so nothing new arrives while writers drain. */
  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}

/**
 * Global: every store injects `DATABASE` (or `DATABASE_CONNECTION`). Pass an open connection (the
 * gateway opens it before Nest starts, so a bad `DATABASE_URL` fails with one line) or options to
 * open and migrate it here. Closed on application shutdown, after the `beforeClose` drains.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(connectionOrOptions: DatabaseConnection | DatabaseOptions): DynamicModule {
    const connection =
      connectionOrOptions instanceof DatabaseConnection
        ? { provide: DATABASE_CONNECTION, useValue: connectionOrOptions }
        : { provide: DATABASE_CONNECTION, useFactory: () => DatabaseConnection.open(connectionOrOptions) };
    return {
      module: DatabaseModule,
      providers: [
        connection,
        { provide: DATABASE, inject: [DATABASE_CONNECTION], useFactory: (c: DatabaseConnection) => c.db },
        { provide: DatabaseLifecycle, inject: [DATABASE_CONNECTION], useFactory: (c: DatabaseConnection) => new DatabaseLifecycle(c) },
      ],
      exports: [DATABASE, DATABASE_CONNECTION],
    };
  }
}
