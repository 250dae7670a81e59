import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import jwt from 'jsonwebtoken';
import { ObservabilityModule } from '#observability';
import { RealtimeModule, useRealtimeAdapter, WebSocketService } from '#realtime';
import { closeAllClients, connectAs, initialUnreadCount, nextEvent } from './support/clients.js';

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

@Module({
  imports: [
    ObservabilityModule,
    RealtimeModule.forRootAsync({
      imports: [HostConfigModule],
      inject: [HostConfig],
      useFactory: async (config: HostConfig) => ({ jwt: { secret: config.jwtSecret }, path: config.socketPath }),
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
});
