import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, UseGuards, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JwtModule, JwtService, type JwtModuleOptions } from '@nestjs/jwt';
import jwt from 'jsonwebtoken';
import { AuthModule, CurrentIdentity, HttpJwtGuard, Roles, TokenService, type Identity } from '#auth';
import { ERROR_MESSAGES } from '#contracts';
import { useHttpErrorFilter } from '#http';
import { ObservabilityModule } from '#observability';
import { RealtimeModule, useRealtimeAdapter, WebSocketService } from '#realtime';
import { closeAllClients, connectAs, connectError, client, initialUnreadCount, nextEvent } from './support/clients.js';

const SECRET = 'another-app-secret-of-thirty-two-chars';

/** Another app's config, injected into the module's async factory. */
@Injectable()
class HostConfig {
  readonly jwtSecret = SECRET;
  readonly socketPath = '/rt/';
}

@Module({ providers: [HostConfig], exports: [HostConfig] })
class HostConfigModule {}

/** A domain service of the host app that emits through the injected WebSocketService. */
@Injectable()
class OrdersService {
  constructor(private readonly websocket: WebSocketService) {}

  shipped(userId: string): void {
    this.websocket.emitToUser(userId, 'system:event', { level: 'info', message: 'order shipped', timestamp: new Date().toISOString() });
  }
}

let factoryCalls = 0;

@Module({
  imports: [
    ObservabilityModule,
    RealtimeModule.forRootAsync({
      imports: [HostConfigModule],
      inject: [HostConfig],
      useFactory: async (config: HostConfig) => {
        factoryCalls++;
        return { jwt: { secret: config.jwtSecret }, path: config.socketPath };
      },
    }),
  ],
  providers: [OrdersService],
})
class HostAppModule {}

describe('RealtimeModule in another Nest app (forRootAsync)', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    app = await NestFactory.create(HostAppModule, { logger: ['error'] });
    useRealtimeAdapter(app);
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    closeAllClients();
    await app.close();
  });

  it('authenticates on the configured path, sends an unread count of 0 without an inbox, and delivers what the host emits', async () => {
    const socket = await connectAs(url, jwt.sign({ sub: 'buyer' }, SECRET, { expiresIn: 60 }), { path: '/rt/' });
    expect(initialUnreadCount(socket)).toBe(0);
    const event = nextEvent(socket, 'system:event');
    app.get(OrdersService).shipped('buyer');
    expect(await event).toMatchObject({ message: 'order shipped' });
    expect(await socket.emitWithAck('notification:mark_read', { notificationId: 'x' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('runs the options factory once, for the module and its token verification alike', () => {
    expect(factoryCalls).toBe(1);
  });
});

// A host app that already has its JWT setup (JwtModule options with an issuer and audience) hands
// it to AuthModule, uses the guards on its own routes and installs the HTTP error filter.
const HOST_JWT: JwtModuleOptions = {
  secret: 'host-app-jwt-secret-of-thirty-two-chars',
  signOptions: { expiresIn: 600, issuer: 'host-idp', audience: 'host-app' },
  verifyOptions: { issuer: 'host-idp', audience: 'host-app' },
};

@Injectable()
class HostJwtConfig {
  readonly jwtModuleOptions = HOST_JWT;
}

@Module({ providers: [HostJwtConfig], exports: [HostJwtConfig] })
class HostJwtConfigModule {}

/** The host's own token issuing, through the JwtService of its own JwtModule. */
@Injectable()
class HostTokens {
  constructor(readonly jwtService: JwtService) {}

  issue(sub: string, role = 'user'): string {
    return this.jwtService.sign({ sub, role });
  }
}

@Controller('orders')
@UseGuards(HttpJwtGuard)
class OrdersController {
  @Get('mine')
  mine(@CurrentIdentity() identity: Identity): { userId: string } {
    return { userId: identity.userId };
  }

  @Get('all')
  @Roles('admin')
  all(): { orders: [] } {
    return { orders: [] };
  }

  @Get('broken')
  broken(): never {
    throw new Error('orders database refused: password=hunter2 host=10.0.0.7');
  }
}

@Module({
  imports: [
    ObservabilityModule,
    JwtModule.register(HOST_JWT),
    RealtimeModule.forRootAsync({
      imports: [
        HostConfigModule,
        AuthModule.forRootAsync({
          imports: [HostJwtConfigModule],
          inject: [HostJwtConfig],
          useFactory: (config: HostJwtConfig) => ({ jwt: config.jwtModuleOptions }),
        }),
      ],
      inject: [HostConfig],
      useFactory: (config: HostConfig) => ({ path: config.socketPath }),
    }),
  ],
  controllers: [OrdersController],
  providers: [HostTokens],
})
class HostWithAuthModule {}

/** Keeps what the app logs, to check that what the client is not told is logged instead. */
class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  error(message: unknown, ...rest: unknown[]): void {
    this.errors.push([message, ...rest].map(String).join(' '));
  }
}

describe('AuthModule with the JWT setup a host app already has', () => {
  let app: INestApplication;
  let url: string;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    app = await NestFactory.create(HostWithAuthModule, { logger });
    useRealtimeAdapter(app);
    useHttpErrorFilter(app);
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    closeAllClients();
    await app.close();
  });

  const get = async (path: string, token?: string) => {
    const response = await fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: response.status, text: await response.text() };
  };

  it('accepts the host’s own tokens on its routes and on the socket, with its issuer and audience checked', async () => {
    const token = app.get(HostTokens).issue('buyer');
    expect(await get('/orders/mine', token)).toEqual({ status: 200, text: JSON.stringify({ userId: 'buyer' }) });
    const socket = await connectAs(url, token, { path: '/rt/' });
    expect(socket.connected).toBe(true);
    // The gateway's TokenService signs with the same setup, so the host's JwtService accepts its tokens too.
    expect(app.get(HostTokens).jwtService.verify(app.get(TokenService).sign({ sub: 'round-trip' }, 60))).toMatchObject({
      sub: 'round-trip',
      iss: 'host-idp',
      aud: 'host-app',
    });
  });

  it('refuses another audience with the fixed body on HTTP and on the socket', async () => {
    const foreign = jwt.sign({ sub: 'buyer' }, HOST_JWT.secret as string, { issuer: 'host-idp', audience: 'some-other-app', expiresIn: 60 });
    const response = await get('/orders/mine', foreign);
    expect(response.status).toBe(401);
    expect(JSON.parse(response.text)).toEqual({ statusCode: 401, code: 'TOKEN_INVALID', message: ERROR_MESSAGES.TOKEN_INVALID });
    expect(response.text).not.toMatch(/host-app|some-other-app|audience/);
    const refused = await connectError(client(url, { path: '/rt/', auth: { token: foreign } }));
    expect(refused.data).toEqual({ code: 'TOKEN_INVALID' });
  });

  it('answers a missing role with 403 FORBIDDEN', async () => {
    expect(JSON.parse((await get('/orders/all', app.get(HostTokens).issue('buyer'))).text)).toEqual({
      statusCode: 403,
      code: 'FORBIDDEN',
      message: ERROR_MESSAGES.FORBIDDEN,
    });
    expect((await get('/orders/all', app.get(HostTokens).issue('boss', 'admin'))).status).toBe(200);
  });

  it('answers an unexpected error with 500 INTERNAL_ERROR and nothing from it, and logs it instead', async () => {
    const response = await get('/orders/broken', app.get(HostTokens).issue('buyer'));
    expect(response.status).toBe(500);
    expect(JSON.parse(response.text)).toEqual({ statusCode: 500, code: 'INTERNAL_ERROR', message: ERROR_MESSAGES.INTERNAL_ERROR });
    expect(response.text).not.toMatch(/hunter2|database|10\.0\.0\.7/);
    expect(logger.errors.some((line) => line.includes('password=hunter2'))).toBe(true);
  });

  it('answers unknown routes with 404 NOT_FOUND', async () => {
    expect(JSON.parse((await get('/nothing-here')).text)).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: ERROR_MESSAGES.NOT_FOUND });
  });
});
