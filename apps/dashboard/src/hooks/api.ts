import type { DevTokenRequest, HttpErrorBody } from '#contracts';

/** A refused HTTP call, with the server's message (its field errors when it lists some). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Api = <T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) => Promise<T>;

/** Calls `/api/v1/<path>` on `origin` with the current bearer token. */
export function createApi(origin: string, token: () => string): Api {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${origin}/api/v1/${path}`, {
      method,
      headers: { authorization: `Bearer ${token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw new ApiError(response.status, errorMessage(parsed) ?? `${method} ${path}: HTTP ${response.status}`);
    return parsed as T;
  };
}

function errorMessage(body: unknown): string | undefined {
  const { message, details } = (body ?? {}) as Partial<HttpErrorBody>;
  if (Array.isArray(details) && details.length > 0) return details.join('; ');
  return typeof message === 'string' ? message : undefined;
}

/** `POST /api/v1/auth/dev-token`: exists only while the gateway runs with `AUTH_DEV_TOKENS=true`. */
export async function fetchDevToken(origin: string, request: DevTokenRequest): Promise<string> {
  const response = await fetch(`${origin}/api/v1/auth/dev-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  if (response.status === 404) throw new ApiError(404, 'Dev tokens are off on this gateway (AUTH_DEV_TOKENS=false): paste a JWT instead');
  const body = (await response.json()) as { token?: string; message?: unknown };
  if (!response.ok || !body.token) throw new ApiError(response.status, errorMessage(body) ?? `dev-token: HTTP ${response.status}`);
  return body.token;
}
