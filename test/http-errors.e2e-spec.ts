import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ERROR_MESSAGES, type HttpErrorBody } from '#contracts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { signWith, unsignedToken } from './support/tokens.js';

// CONTRACT.md §13: every HTTP error is { statusCode, code, message, details? }, the message fixed per
// code; a 401/403 never carries the library's text, the configured issuer or audience, or what the client sent.
const SECRET = 'http-errors-suite-secret-of-32-chars-or-more';
const ISSUER = 'https://idp.http-errors.example';
const AUDIENCE = 'configured-audience-4f1c';

interface RawResponse {
  status: number;
  contentType: string | null;
  text: string;
}

async function raw(
  gateway: TestGateway,
  method: string,
  path: string,
  init: { token?: string; body?: string; contentType?: string } = {},
): Promise<RawResponse> {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: {
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
      ...(init.body === undefined ? {} : { 'content-type': init.contentType ?? 'application/json' }),
    },
    body: init.body,
  });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

/** The exact body of `code` at `status`, with no details. */
const fixed = (statusCode: number, code: keyof typeof ERROR_MESSAGES): HttpErrorBody => ({ statusCode, code, message: ERROR_MESSAGES[code] });

function json(response: RawResponse): unknown {
  expect(response.contentType).toMatch(/^application\/json/);
  return JSON.parse(response.text);
}

describe('HTTP error bodies', () => {
  let gateway: TestGateway;
  let user: string;

  beforeAll(async () => {
    gateway = await startGateway({ JWT_SECRET: SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
    user = gateway.token('http-errors-user');
  });
  afterAll(() => gateway.close());

  const claims = { sub: 'victim-sub-77', email: 'leak-check@example.org', name: 'Leaky McLeakface', role: 'admin' };

  it.each([
    ['a wrong audience', (): string => signWith(claims, SECRET, { issuer: ISSUER, audience: 'client-chosen-audience', expiresIn: 60 }), 'TOKEN_INVALID'],
    ['a wrong issuer', (): string => signWith(claims, SECRET, { issuer: 'client-chosen-issuer', audience: AUDIENCE, expiresIn: 60 }), 'TOKEN_INVALID'],
    ['a wrong signature', (): string => signWith(claims, 'another-secret-another-secret-another', { issuer: ISSUER, audience: AUDIENCE }), 'TOKEN_INVALID'],
    [
      'an expired token',
      (): string => signWith({ ...claims, exp: Math.floor(Date.now() / 1000) - 30 }, SECRET, { issuer: ISSUER, audience: AUDIENCE }),
      'TOKEN_EXPIRED',
    ],
    ['alg none', (): string => unsignedToken({ ...claims, iss: ISSUER, aud: AUDIENCE }), 'TOKEN_INVALID'],
    ['garbage', (): string => 'garbage-token-value.with-dots.client-sent', 'TOKEN_INVALID'],
  ] as const)('refuses %s with 401 and the code only: no library text, no audience or issuer, nothing the client sent', async (_case, token, code) => {
    const sent = token();
    const response = await raw(gateway, 'GET', '/api/v1/sensors', { token: sent });
    expect(response.status).toBe(401);
    expect(json(response)).toEqual(fixed(401, code));
    for (const leak of [
      AUDIENCE,
      ISSUER,
      'client-chosen',
      'victim-sub-77',
      'leak-check',
      'Leaky',
      'jwt ',
      'invalid signature',
      'expired at',
      sent.slice(0, 20),
    ]) {
      expect(response.text).not.toContain(leak);
    }
  });

  it('refuses a missing token with 401 TOKEN_MISSING', async () => {
    expect(json(await raw(gateway, 'GET', '/api/v1/notifications'))).toEqual(fixed(401, 'TOKEN_MISSING'));
    // A header that is not `Bearer <token>` is no token either.
    expect(json(await raw(gateway, 'GET', '/api/v1/notifications', { token: '' }))).toEqual(fixed(401, 'TOKEN_MISSING'));
  });

  it('refuses a role it does not have with 403 FORBIDDEN, naming no role', async () => {
    const response = await raw(gateway, 'POST', '/api/v1/readings', { token: user, body: JSON.stringify({ sensorId: 's', metric: 'm', value: 1 }) });
    expect(response.status).toBe(403);
    expect(json(response)).toEqual(fixed(403, 'FORBIDDEN'));
  });

  it('answers a validation error with 400 VALIDATION_FAILED and the field errors in details', async () => {
    const response = await raw(gateway, 'POST', '/api/v1/sensors', { token: user, body: JSON.stringify({ name: 'x', color: 'red' }) });
    expect(response.status).toBe(400);
    const body = json(response) as HttpErrorBody;
    expect(body).toEqual({ ...fixed(400, 'VALIDATION_FAILED'), details: expect.arrayContaining(['type must be a string', 'property color should not exist']) });
  });

  it('answers 404 NOT_FOUND for unknown routes and ids, without repeating them', async () => {
    for (const path of ['/api/v1/no-such-route', '/api/v1/sensors/no-such-sensor-9d2', '/no-such-page-outside-the-api']) {
      const response = await raw(gateway, 'GET', path, { token: user });
      expect({ path, status: response.status, body: json(response) }).toEqual({ path, status: 404, body: fixed(404, 'NOT_FOUND') });
      expect(response.text).not.toContain('no-such');
    }
  });

  it('answers 409 CONFLICT for an id that exists', async () => {
    const body = JSON.stringify({ id: 'http-errors-dup', name: 'x', type: 't' });
    expect((await raw(gateway, 'POST', '/api/v1/sensors', { token: user, body })).status).toBe(201);
    expect(json(await raw(gateway, 'POST', '/api/v1/sensors', { token: user, body }))).toEqual(fixed(409, 'CONFLICT'));
  });

  it('answers malformed JSON with 400 BAD_REQUEST, without the parser text', async () => {
    const response = await raw(gateway, 'POST', '/api/v1/sensors', { token: user, body: '{"name": "x", "type": secret-looking-input' });
    expect(response.status).toBe(400);
    expect(json(response)).toEqual(fixed(400, 'BAD_REQUEST'));
    expect(response.text).not.toMatch(/secret-looking|position|Unexpected token/);
  });

  it('answers an oversized body with 413 PAYLOAD_TOO_LARGE, and keeps serving', async () => {
    const response = await raw(gateway, 'POST', '/api/v1/sensors', { token: user, body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), type: 't' }) });
    expect(response.status).toBe(413);
    expect(json(response)).toEqual(fixed(413, 'PAYLOAD_TOO_LARGE'));
    expect((await raw(gateway, 'GET', '/api/v1/health')).status).toBe(200);
  });

  it('refuses a failed ParseUUIDPipe with 400 BAD_REQUEST, not the pipe text', async () => {
    const response = await raw(gateway, 'PATCH', '/api/v1/notifications/not-a-uuid/read', { token: user });
    expect(json(response)).toEqual(fixed(400, 'BAD_REQUEST'));
  });
});
