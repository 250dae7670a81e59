import { Module, type DynamicModule } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import type { AuthModuleAsyncOptions, AuthModuleOptions } from './auth.options.js';
import { HttpJwtGuard } from './http-jwt.guard.js';
import { jwtModuleOptions } from './jwt-keys.js';
import { TokenService } from './token.service.js';
import { WsJwtGuard } from './ws-jwt.guard.js';

const providers = [TokenService, HttpJwtGuard, WsJwtGuard];

/**
 * Token verification for every transport, through `@nestjs/jwt`, and the guards built on it.
 * Global, so any controller may use `HttpJwtGuard`. Its `JwtModule` is its own: a `JwtService`
 * the app registers elsewhere is left alone.
 *
 * ```ts
 * AuthModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (c: ConfigService) => ({ jwt: c.jwtModuleOptions }) })
 * ```
 */
@Module({})
export class AuthModule {
  static forRoot(options: AuthModuleOptions): DynamicModule {
    return AuthModule.forRootAsync({ useFactory: () => options });
  }

  static forRootAsync(options: AuthModuleAsyncOptions): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      imports: [
        JwtModule.registerAsync({
          imports: options.imports ?? [],
          inject: options.inject ?? [],
          useFactory: async (...args: unknown[]) => jwtModuleOptions((await options.useFactory(...args)).jwt),
        }),
      ],
      providers,
      exports: providers,
    };
  }
}
