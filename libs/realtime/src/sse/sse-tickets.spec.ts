import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Identity } from '#auth';
import { RedisConnection } from '#redis';
import { InMemorySseTicketStore, isTicketShaped, MAX_TICKETS_PER_WINDOW, RedisSseTicketStore, type SseTicketStore } from './sse-tickets.js';

// Fresh user ids per test: the Redis stores of one run share a key prefix, and the cap counts per user.
let alice: Identity;
let bob: Identity;
beforeEach(() => {
  const tag = randomBytes(4).toString('hex');
  alice = { userId: `alice-${tag}`, role: 'user', email: 'a@example.com', expiresAt: 1_900_000_000_000 };
  bob = { userId: `bob-${tag}`, role: 'admin', expiresAt: null };
});

/** The same behaviour from both stores. */
function behaves(name: string, make: (ttlMs: number, maxPerWindow?: number) => SseTicketStore) {
  describe(name, () => {
    it('mints a ticket bound to the identity, redeemed once', async () => {
      const store = make(60_000);
      const before = Date.now();
      const minted = (await store.mint(alice))!;
      expect(isTicketShaped(minted.ticket)).toBe(true);
      expect(minted.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
      expect(await store.redeem(minted.ticket)).toEqual(alice);
      expect(await store.redeem(minted.ticket)).toBeNull();
    });

    it('keeps tickets apart and refuses unknown or malformed ones', async () => {
      const store = make(60_000);
      const [a, b] = [(await store.mint(alice))!, (await store.mint(bob))!];
      expect(a.ticket).not.toBe(b.ticket);
      expect(await store.redeem(randomBytes(32).toString('base64url'))).toBeNull();
      for (const bad of ['', 'x', `${a.ticket}x`, a.ticket.slice(1), '*'.repeat(43)]) expect(await store.redeem(bad)).toBeNull();
      expect(await store.redeem(b.ticket)).toEqual(bob);
      expect(await store.redeem(a.ticket)).toEqual(alice);
    });

    it('refuses a ticket past its lifetime', async () => {
      const store = make(150);
      const minted = (await store.mint(alice))!;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await store.redeem(minted.ticket)).toBeNull();
    });

    it(`caps one user at ${MAX_TICKETS_PER_WINDOW} tickets per window, others unaffected`, async () => {
      const store = make(60_000);
      for (let i = 0; i < MAX_TICKETS_PER_WINDOW; i++) expect(await store.mint(alice)).not.toBeNull();
      expect(await store.mint(alice)).toBeNull();
      expect(await store.mint(bob)).not.toBeNull();
    });

    it('opens a new window once the last one has passed', async () => {
      const store = make(1000, 1);
      expect(await store.mint(alice)).not.toBeNull();
      expect(await store.mint(alice)).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(await store.mint(alice)).not.toBeNull();
    });
  });
}

behaves('InMemorySseTicketStore', (ttlMs, maxPerWindow) => new InMemorySseTicketStore(ttlMs, maxPerWindow));

describe('InMemorySseTicketStore memory', () => {
  it('drops expired tickets as time passes, redeemed or not', async () => {
    let now = 1_000;
    const store = new InMemorySseTicketStore(100, MAX_TICKETS_PER_WINDOW, () => now);
    for (let i = 0; i < 10; i++) await store.mint({ ...alice, userId: `u${i}` });
    expect(store.size).toBe(10);
    now += 100;
    await store.mint(bob);
    expect(store.size).toBe(1);
  });
});

let redis: RedisConnection;
beforeAll(async () => {
  redis = await RedisConnection.connect({ url: 'redis://127.0.0.1:6379', keyPrefix: `spec:sse-tickets:${process.pid}:${randomBytes(4).toString('hex')}:` });
});
afterAll(() => redis.close());

behaves('RedisSseTicketStore', (ttlMs, maxPerWindow) => new RedisSseTicketStore(redis, ttlMs, maxPerWindow));

describe('RedisSseTicketStore across instances', () => {
  it('redeems on another instance exactly once, even when both try at the same time', async () => {
    const other = await RedisConnection.connect({ url: 'redis://127.0.0.1:6379', keyPrefix: redis.keyPrefix });
    try {
      const [a, b] = [new RedisSseTicketStore(redis), new RedisSseTicketStore(other)];
      const minted = (await a.mint(alice))!;
      const answers = await Promise.all([b.redeem(minted.ticket), a.redeem(minted.ticket), b.redeem(minted.ticket)]);
      expect(answers.filter((answer) => answer !== null)).toEqual([alice]);
    } finally {
      await other.close();
    }
  });

  it('stores the ticket with a TTL, and refuses a stored value that is not an identity', async () => {
    const store = new RedisSseTicketStore(redis, 60_000);
    const minted = (await store.mint(alice))!;
    const ttl = await redis.client.pTTL(redis.key('sse', 'ticket', minted.ticket));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await redis.client.set(redis.key('sse', 'ticket', minted.ticket), '{"userId":"x","role":"root"}');
    expect(await store.redeem(minted.ticket)).toBeNull();
  });
});
