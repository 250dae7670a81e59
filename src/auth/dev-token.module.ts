import { Module, type DynamicModule } from '@nestjs/common';
import { DevTokenController } from './dev-token.controller.js';

@Module({})
export class DevTokenModule {
  /** The dev-token endpoint exists only when enabled: disabled, it is a plain 404. */
  static forRoot({ devTokens }: { devTokens: boolean }): DynamicModule {
    return { module: DevTokenModule, controllers: devTokens ? [DevTokenController] : [] };
  }
}
