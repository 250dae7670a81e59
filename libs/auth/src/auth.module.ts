import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { AUTH_OPTIONS, type AuthModuleAsyncOptions, type AuthModuleOptions } from './auth.options.js';
import { HttpJwtGuard } from './http-jwt.guard.js';
import { TokenService } from './token.service.js';
import { WsJwtGuard } from './ws-jwt.guard.js';

const providers: Provider[] = [TokenService, HttpJwtGuard, WsJwtGuard];
const exported = [TokenService, HttpJwtGuard, WsJwtGuard];

/** Token verification for every transport and the guards built on it; global, so any controller may use the guards. */
@Module({})
export class AuthModule {
  static forRoot(options: AuthModuleOptions): DynamicModule {
    return { module: AuthModule, global: true, providers: [{ provide: AUTH_OPTIONS, useValue: options }, ...providers], exports: exported };
  }

  static forRootAsync(options: AuthModuleAsyncOptions): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      imports: options.imports ?? [],
      providers: [{ provide: AUTH_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory }, ...providers],
      exports: exported,
    };
  }
}
