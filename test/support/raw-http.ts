import { connect, type Socket } from 'node:net';

export interface RawResponse {
  /** The status code, or null when the server closed the connection without answering. */
  status: number | null;
  headers: string;
  /** The body parsed as JSON when it is JSON, else the raw text. */
  body: any;
}

/** WebSocket upgrade headers with a key and version ws accepts. */
export const UPGRADE_HEADERS = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];

/**
 * Sends `head` (the request line and headers, joined with CRLF, ended by a blank line) byte for
 * byte over a bare TCP connection, and resolves with what the server answered before it closed.
 * For requests no HTTP client library would send.
 */
export function rawRequest(httpUrl: string, requestLine: string, headers: string[] = UPGRADE_HEADERS): Promise<RawResponse> {
  const { hostname, port } = new URL(httpUrl);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(parseResponse(Buffer.concat(chunks).toString('utf8'))));
    socket.write(`${[requestLine, `Host: ${hostname}:${port}`, ...headers].join('\r\n')}\r\n\r\n`);
  });
}

/** Sends the request and resets the connection at once, before any answer. */
export function rawRequestThenReset(httpUrl: string, requestLine: string, headers: string[] = UPGRADE_HEADERS): Promise<void> {
  const { hostname, port } = new URL(httpUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`${[requestLine, `Host: ${hostname}:${port}`, ...headers].join('\r\n')}\r\n\r\n`, () => socket.resetAndDestroy());
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

function parseResponse(text: string): RawResponse {
  if (!text) return { status: null, headers: '', body: undefined };
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const rest = end === -1 ? '' : text.slice(end + 4);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? NaN);
  let body: any = rest;
  try {
    body = rest ? JSON.parse(rest) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: Number.isNaN(status) ? null : status, headers: head, body };
}
