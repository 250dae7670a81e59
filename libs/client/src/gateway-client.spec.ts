import { afterEach, describe, expect, it } from '@jest/globals';
import { nextEvent } from '../../../test/support/clients.js';
import { startGateway, type TestGateway } from '../../../test/support/gateway.js';
import { freePort } from '../../../test/support/process.js';
import { createGatewayClient, GatewayError, type GatewayClient } from './gateway-client.js';

/** The typed client against a real gateway. */
describe('createGatewayClient', () => {
  const clients: GatewayClient[] = [];
  const gateways: TestGateway[] = [];
  const open = (options: Parameters<typeof createGatewayClient>[0]) => {
    const client = createGatewayClient(options);
    clients.push(client);
    return client;
  };

  afterEach(async () => {
    clients.splice(0).forEach((client) => client.close());
    await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
  });

  it('resolves subscribe on the ack and rejects with the contract code', async () => {
    const gateway = await startGateway();
    gateways.push(gateway);
    const client = open({ url: gateway.url, token: gateway.token('typed') });
    await nextEvent(client.socket as never, 'authenticated');
    await expect(client.subscribe('readings')).resolves.toBeUndefined();
    await expect(client.subscribe('weather')).rejects.toEqual(new GatewayError('UNKNOWN_TOPIC', 'Unknown topic'));
    await expect(client.subscribe('system')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect([...client.topics.keys()]).toEqual(['readings']);
    await client.unsubscribe('readings');
    expect(client.topics.size).toBe(0);
  });

  it('re-subscribes its topics after the server restarts', async () => {
    const port = await freePort();
    const first = await startGateway({ PORT: String(port) });
    const client = open({ url: `http://127.0.0.1:${port}`, token: first.token('survivor') });
    await client.subscribe('sensor:restart-1');
    await nextEvent(client.socket as never, 'authenticated');
    await first.close();

    const second = await startGateway({ PORT: String(port) });
    gateways.push(second);
    if (!client.socket.connected) await new Promise((resolve) => client.socket.once('connect', () => resolve(undefined)));
    // The re-subscription is acknowledged before anything else this test sends.
    await client.socket.emitWithAck('subscribe', { topic: 'general' });
    const reading = nextEvent(client.socket as never, 'reading:new');
    second.websocket.emitToTopic('sensor:restart-1', 'reading:new', { sensorId: 'restart-1', metric: 'm', value: 1, ts: Date.now() });
    expect(await reading).toMatchObject({ sensorId: 'restart-1' });
  }, 20_000);

  it('refreshes its token before exp through getToken and auth:refresh', async () => {
    const gateway = await startGateway();
    gateways.push(gateway);
    let issued = 0;
    const first = gateway.token('renewing', {}, 2);
    const client = open({
      url: gateway.url,
      token: first,
      refreshBeforeMs: 1_000,
      getToken: async () => {
        issued += 1;
        return gateway.token('renewing', {}, 3600);
      },
    });
    const errors: unknown[] = [];
    client.socket.on('error', (error) => errors.push(error));
    await nextEvent(client.socket as never, 'authenticated');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(issued).toBe(1);
    expect(client.token).not.toBe(first);
    expect(client.socket.connected).toBe(true);
    expect(errors).toEqual([]);
  });

  it('connects with a fresh token from getToken when the first one is refused as expired', async () => {
    const gateway = await startGateway();
    gateways.push(gateway);
    const refusals: string[] = [];
    const client = open({ url: gateway.url, token: gateway.token('late', {}, -10), getToken: async () => gateway.token('late') });
    client.socket.on('connect_error', (error) => refusals.push((error as { data?: { code: string } }).data?.code ?? error.message));
    expect(await nextEvent(client.socket as never, 'authenticated')).toMatchObject({ userId: 'late' });
    expect(refusals).toEqual(['TOKEN_EXPIRED']);
  });

  it('stops at a refused token when it has no getToken', async () => {
    const gateway = await startGateway();
    gateways.push(gateway);
    const client = open({ url: gateway.url, token: 'not-a-jwt' });
    const refusal = await new Promise<Error>((resolve) => client.socket.once('connect_error', resolve));
    expect(refusal).toMatchObject({ message: 'Unauthorized', data: { code: 'TOKEN_INVALID' } });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(client.socket.active).toBe(false);
    expect(client.socket.connected).toBe(false);
  });
});
