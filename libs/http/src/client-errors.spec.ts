import { describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '#contracts';
import { answerClientErrors, clientErrorStatus } from './client-errors.js';

/** Sends `bytes` over raw TCP and collects the answer until the server closes. */
function exchange(server: Server, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', () => undefined);
  });
}

describe('answerClientErrors', () => {
  it('maps parser errors to the statuses Node answers', () => {
    expect(clientErrorStatus('HPE_HEADER_OVERFLOW')).toBe(431);
    expect(clientErrorStatus('ERR_HTTP_REQUEST_TIMEOUT')).toBe(408);
    expect(clientErrorStatus('HPE_INVALID_METHOD')).toBe(400);
    expect(clientErrorStatus(undefined)).toBe(400);
  });

  it('answers what the parser refuses as Node does, counts it, and keeps serving', async () => {
    const refusals: [number, string][] = [];
    const server = createServer((_request, response) => response.end('ok'));
    answerClientErrors(server, (status, code) => refusals.push([status, code]));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      expect(await exchange(server, 'G E T / HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\n\r\n$/);
      expect(await exchange(server, `GET / HTTP/1.1\r\nHost: x\r\nX-Huge: ${'h'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
      expect(await exchange(server, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 OK/);
      expect(refusals).toEqual([
        [400, ErrorCode.BAD_REQUEST],
        [431, ErrorCode.BAD_REQUEST],
      ]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
