import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { isRole, type SseTicketResponse } from '#contracts';
import type { Identity } from '#auth';
import type { RedisConnection } from '#redis';

/** What `POST /api/v1/events/ticket` answers. */
export type SseTicket = SseTicketResponse;

/** The store of this deployment: {@link RedisSseTicketStore} with Redis, else {@link InMemorySseTicketStore}. */
export const SSE_TICKETS = Symbol('SSE_TICKETS');

/**
 * Single-use tickets for `GET /api/v1/events?ticket=` (a browser's `EventSource` cannot send
 * `Authorization`, and a long-lived JWT must never go in a URL). A ticket is bound to the identity
 * that minted it, valid `ttlMs`, and gone once redeemed.
 */
export interface SseTicketStore {
  /** A new ticket for `identity`; null when the user already minted {@link MAX_TICKETS_PER_WINDOW} in the current window. */
  mint(identity: Identity): Promise<SseTicket | null>;
  /** The identity the ticket was minted for, at most once; null for an unknown, spent or expired ticket. */
  redeem(ticket: string): Promise<Identity | null>;
}

/** Contract: a ticket is valid 60 s. */
export const DEFAULT_TICKET_TTL_MS = 60_000;
/**
 * Tickets one user may mint per window (one ticket lifetime, counted from the window's first
 * ticket): enough for a page that reconnects every few seconds, while a script cannot fill memory
 * or Redis with tickets. The gateway has no HTTP rate limit to lean on, so the cap is here.
 */
export const MAX_TICKETS_PER_WINDOW = 20;

/** 32 random bytes, base64url: what a ticket looks like; anything else is refused before any lookup. */
const TICKET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function isTicketShaped(value: string): boolean {
  return TICKET_SHAPE.test(value);
}

const newTicket = (): string => randomBytes(32).toString('base64url');

/** One instance: tickets and per-user windows in maps, both swept as they expire (fixed TTL, so insertion order is expiry order). */
export class InMemorySseTicketStore implements SseTicketStore {
  private readonly tickets = new Map<string, { identity: Identity; expiresAt: number }>();
  private readonly windows = new Map<string, { count: number; endsAt: number }>();

  constructor(
    private readonly ttlMs = DEFAULT_TICKET_TTL_MS,
    private readonly maxPerWindow = MAX_TICKETS_PER_WINDOW,
    private readonly now: () => number = Date.now,
  ) {}

  /** Tickets held (for tests: bounded by the sweep). */
  get size(): number {
    return this.tickets.size;
  }

  mint(identity: Identity): Promise<SseTicket | null> {
    const now = this.now();
    this.sweep(now);
    let window = this.windows.get(identity.userId);
    if (!window) {
      window = { count: 0, endsAt: now + this.ttlMs };
      this.windows.set(identity.userId, window);
    }
    if (window.count >= this.maxPerWindow) return Promise.resolve(null);
    window.count += 1;
    const ticket = newTicket();
    const expiresAt = now + this.ttlMs;
    this.tickets.set(ticket, { identity, expiresAt });
    return Promise.resolve({ ticket, expiresAt });
  }

  redeem(ticket: string): Promise<Identity | null> {
    const now = this.now();
    this.sweep(now);
    if (!isTicketShaped(ticket)) return Promise.resolve(null);
    const entry = this.tickets.get(ticket);
    if (!entry) return Promise.resolve(null);
    this.tickets.delete(ticket);
    return Promise.resolve(entry.expiresAt > now ? entry.identity : null);
  }

  private sweep(now: number): void {
    for (const [ticket, entry] of this.tickets) {
      if (entry.expiresAt > now) break;
      this.tickets.delete(ticket);
    }
    for (const [userId, window] of this.windows) {
      if (window.endsAt > now) break;
      this.windows.delete(userId);
    }
  }
}

/**
 * Mint: count the user's window (created with the ticket TTL on its first ticket) and, under the
 * cap, store the ticket with the same TTL. One script, so concurrent mints cannot overshoot the cap.
 * KEYS: ticket key, window key. ARGV: identity JSON, ttl ms, cap.
 */
const MINT = `
local n = redis.call('INCR', KEYS[2])
if n == 1 or redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
if n > tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/** Redeem: read and delete in one step, so two instances cannot both accept one ticket (GETDEL needs Redis 6.2; this works on any). */
const REDEEM = `
local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v
`;

/** Several instances: tickets in Redis with a TTL, so a ticket minted on one instance is redeemed on another, once. */
export class RedisSseTicketStore implements SseTicketStore {
  private readonly logger = new Logger(RedisSseTicketStore.name);

  constructor(
    private readonly redis: RedisConnection,
    private readonly ttlMs = DEFAULT_TICKET_TTL_MS,
    private readonly maxPerWindow = MAX_TICKETS_PER_WINDOW,
  ) {}

  async mint(identity: Identity): Promise<SseTicket | null> {
    const ticket = newTicket();
    const expiresAt = Date.now() + this.ttlMs;
    const stored = await this.redis.client.eval(MINT, {
      keys: [this.redis.key('sse', 'ticket', ticket), this.redis.key('sse', 'mints', identity.userId)],
      arguments: [JSON.stringify(identity), String(this.ttlMs), String(this.maxPerWindow)],
    });
    return stored === 1 ? { ticket, expiresAt } : null;
  }

  async redeem(ticket: string): Promise<Identity | null> {
    if (!isTicketShaped(ticket)) return null;
    const value = await this.redis.client.eval(REDEEM, { keys: [this.redis.key('sse', 'ticket', ticket)] });
    if (typeof value !== 'string') return null;
    const identity = parseIdentity(value);
    if (!identity) this.logger.warn('a stored ticket did not hold an identity; refused');
    return identity;
  }
}

/** What a ticket stored in Redis holds, checked field by field (the key space is shared with whatever else writes there). */
function parseIdentity(text: string): Identity | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { userId, role, email, name, expiresAt } = value as Record<string, unknown>;
  if (typeof userId !== 'string' || userId.length === 0 || !isRole(role)) return null;
  if (!(expiresAt === null || typeof expiresAt === 'number')) return null;
  return { userId, role, ...(typeof email === 'string' ? { email } : {}), ...(typeof name === 'string' ? { name } : {}), expiresAt };
}
