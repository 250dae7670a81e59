import { afterEach, describe, expect, it } from '@jest/globals';
import { createGatewayClient, type GatewayClient } from '#client';
import type { RealtimeStats } from '#contracts';
import { nextEvent } from '../../../../test/support/clients.js';
import { eventually, startGateway, type TestGateway } from '../../../../test/support/gateway.js';
import { api } from '../../../../test/support/http.js';
import { createTopicLeases } from './topic-leases.js';

/** The reference counting behind useTopic, against a real gateway. */
describe('createTopicLeases', () => {
  let gateway: TestGateway;
  let client: GatewayClient;
  const sent: string[] = [];

  const connect = async (): Promise<void> => {
    gateway = await startGateway();
    client = createGatewayClient({ url: gateway.url, token: gateway.token('leaser') });
    client.socket.onAnyOutgoing((event: string, body: { topic?: string; batchMs?: number }) =>
      sent.push(`${event} ${body.topic}${body.batchMs ? ` batchMs=${body.batchMs}` : ''}`),
    );
    await nextEvent(client.socket as never, 'authenticated');
  };
  const subscribers = async (topic: string): Promise<number> => {
    const stats = await api<RealtimeStats>(gateway.url, 'GET', '/ws/stats', gateway.token('ops', { role: 'admin' }));
    return stats.body.topics[topic]?.subscribers ?? 0;
  };
  const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

  afterEach(async () => {
    client.close();
    sent.length = 0;
    await gateway.close();
  });

  it('subscribes once for several holders and unsubscribes after the last lets go', async () => {
    await connect();
    const leases = createTopicLeases(client);
    const first = leases.acquire('readings');
    const second = leases.acquire('readings');
    await Promise.all([first.ready, second.ready]);
    expect(await subscribers('readings')).toBe(1);

    first.release();
    first.release(); // a second release of one lease counts once
    await tick();
    expect(await subscribers('readings')).toBe(1);

    second.release();
    await eventually(async () => expect(await subscribers('readings')).toBe(0));
    expect(sent).toEqual(['subscribe readings', 'unsubscribe readings']);
  });

  it('sends nothing extra for a StrictMode mount, unmount and mount', async () => {
    await connect();
    const leases = createTopicLeases(client);
    leases.acquire('anomalies').release();
    const remounted = leases.acquire('anomalies');
    await remounted.ready;
    await tick();
    expect(sent).toEqual(['subscribe anomalies']);
    expect(await subscribers('anomalies')).toBe(1);
  });

  it("sends the first holder's options and shares its subscription with later holders", async () => {
    await connect();
    const leases = createTopicLeases(client);
    const first = leases.acquire('readings', { batchMs: 50 });
    const second = leases.acquire('readings', { batchMs: 500 });
    await Promise.all([first.ready, second.ready]);
    expect(sent).toEqual(['subscribe readings batchMs=50']);
    expect(client.topics.get('readings')).toEqual({ batchMs: 50 });
  });

  it('hands a refusal to every holder and does not keep the topic', async () => {
    await connect();
    const leases = createTopicLeases(client);
    await expect(leases.acquire('system').ready).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(leases.acquire('system').ready).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(sent).toEqual(['subscribe system', 'subscribe system']);
  });
});
