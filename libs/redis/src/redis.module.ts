import { Global, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { RedisConnection } from './redis-connection.js';

/** Injects the app's {@link RedisConnection}, or null when the app runs without Redis. */
export const REDIS = Symbol('REDIS');

class RedisLifecycle implements OnApplicationShutdown {
  constructor(private readonly connection: RedisConnection | null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.connection?.close();
  }
}

@Global()
@Module({})
export class RedisModule {
  static forRoot(connection: RedisConnection | null): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        { provide: REDIS, useValue: connection },
        { provide: RedisLifecycle, useValue: new RedisLifecycle(connection) },
      ],
      exports: [REDIS],
    };
  }
}
