import type { Role } from '#contracts';
import { fetchDevToken } from './hooks/api.js';

/** How this tab signed in. Kept per tab (sessionStorage), so two tabs may be two users. */
export interface Session {
  token: string;
  /** Set for dev tokens, which can be fetched again on refresh; a pasted JWT cannot. */
  dev?: { sub: string; role: Role };
}

const KEY = 'gateway-dashboard-session';
const DEV_TOKEN_LIFETIME_SECONDS = 3600;

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}

export async function devSession(origin: string, sub: string, role: Role): Promise<Session> {
  return { token: await fetchDevToken(origin, { sub, role, expiresIn: DEV_TOKEN_LIFETIME_SECONDS }), dev: { sub, role } };
}
