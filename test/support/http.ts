export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

/** A JSON call to `/api/v1` with an optional bearer token. */
export async function api<T = any>(baseUrl: string, method: string, path: string, token?: string, body?: unknown): Promise<ApiResponse<T>> {
  const response = await fetch(`${baseUrl}/api/v1${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}
