import http from 'node:http';

/** One message of a `text/event-stream`, as the WHATWG parsing rules build it. */
export interface SseMessage {
  event: string;
  data: string;
  /** The last `id:` seen so far on this stream (what `EventSource.lastEventId` holds). */
  id: string;
}

export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Every message, in order. */
  messages: SseMessage[];
  /** Comment lines seen (`: keepalive`). */
  comments: string[];
  /** Resolves when the server ends the stream or the connection drops. */
  ended: Promise<void>;
  /** Waits for a message matching `predicate` among those not yet consumed by `next` (in order). */
  next(predicate?: (message: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  /** Resolves once `count` messages matching `predicate` have arrived. */
  waitFor(count: number, predicate?: (message: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage[]>;
  /** Stops reading from the socket (a live client that does not read: the server's buffer fills). */
  pause(): void;
  close(): void;
}

export interface RefusedSse {
  status: number;
  body: any;
}

const open: SseStream[] = [];

/**
 * `GET <path>` read as a raw `text/event-stream` over node:http (no EventSource, no library): the
 * bytes are split into lines and messages here, per the WHATWG rules. `port` lets the request go
 * through a TCP proxy. Resolves once the response head arrives; a non-200 answer is read whole.
 */
export function connectSse(
  baseUrl: string,
  path: string,
  { headers = {}, port }: { headers?: Record<string, string>; port?: number } = {},
): Promise<SseStream | RefusedSse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = http.get({ host: url.hostname, port: port ?? Number(url.port), path, headers: { Accept: 'text/event-stream', ...headers }, agent: false });
    request.on('error', reject);
    request.on('response', (response) => {
      if (response.statusCode !== 200) {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: text ? JSON.parse(text) : undefined }));
        return;
      }
      const messages: SseMessage[] = [];
      const comments: string[] = [];
      const waiters = new Set<() => void>();
      const notify = () => {
        for (const waiter of [...waiters]) waiter();
      };
      let consumed = 0;
      let buffer = '';
      let event = '';
      let data: string[] = [];
      let lastId = '';
      const line = (text: string) => {
        if (text === '') {
          if (data.length > 0) messages.push({ event: event || 'message', data: data.join('\n'), id: lastId });
          event = '';
          data = [];
          return;
        }
        if (text.startsWith(':')) return void comments.push(text.slice(1).trim());
        const colon = text.indexOf(':');
        const field = colon === -1 ? text : text.slice(0, colon);
        let value = colon === -1 ? '' : text.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id' && !value.includes('\0')) lastId = value;
      };
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        const lines = buffer.split(/\r\n|\r|\n/);
        buffer = lines.pop()!;
        for (const text of lines) line(text);
        notify();
      });
      let done!: () => void;
      const ended = new Promise<void>((resolveEnded) => (done = resolveEnded));
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
      void ended.then(notify);
      let finished = false;
      void ended.then(() => (finished = true));

      const waitUntil = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
        new Promise((resolveWait, rejectWait) => {
          const attempt = () => {
            const value = check();
            if (value !== undefined) {
              waiters.delete(attempt);
              clearTimeout(timer);
              resolveWait(value);
            } else if (finished) {
              waiters.delete(attempt);
              clearTimeout(timer);
              rejectWait(new Error(`stream ended before ${what}; got ${JSON.stringify(messages.map((m) => m.event))}`));
            }
          };
          const timer = setTimeout(() => {
            waiters.delete(attempt);
            rejectWait(new Error(`timed out waiting for ${what}; got ${messages.length} messages: ${JSON.stringify(messages.slice(-5))}`));
          }, timeoutMs);
          waiters.add(attempt);
          attempt();
        });

      const stream: SseStream = {
        status: 200,
        headers: response.headers,
        messages,
        comments,
        ended,
        next: (predicate = () => true, timeoutMs = 10_000) =>
          waitUntil(
            () => {
              for (let i = consumed; i < messages.length; i++) {
                if (predicate(messages[i]!)) {
                  consumed = i + 1;
                  return messages[i];
                }
              }
              return undefined;
            },
            timeoutMs,
            'the next matching message',
          ),
        waitFor: (count, predicate = () => true, timeoutMs = 15_000) =>
          waitUntil(
            () => {
              const matching = messages.filter(predicate);
              return matching.length >= count ? matching : undefined;
            },
            timeoutMs,
            `${count} matching messages`,
          ),
        pause: () => {
          response.pause();
        },
        close: () => request.destroy(),
      };
      open.push(stream);
      resolve(stream);
    });
  });
}

/** Opens a stream that must be accepted. */
export async function sse(baseUrl: string, path: string, options?: Parameters<typeof connectSse>[2]): Promise<SseStream> {
  const result = await connectSse(baseUrl, path, options);
  if (!('messages' in result)) throw new Error(`SSE refused: ${result.status} ${JSON.stringify(result.body)}`);
  return result;
}

/** Opens a stream that must be refused. */
export async function refusedSse(baseUrl: string, path: string, options?: Parameters<typeof connectSse>[2]): Promise<RefusedSse> {
  const result = await connectSse(baseUrl, path, options);
  if ('messages' in result) {
    result.close();
    throw new Error('SSE accepted, expected a refusal');
  }
  return result;
}

export function closeAllSse(): void {
  for (const stream of open.splice(0)) stream.close();
}

/** The cursor of an `id:` as the server encodes it: stream -> [epoch, offset]. */
export function decodeSseCursor(id: string): Record<string, [string, number]> {
  const result: Record<string, [string, number]> = {};
  for (const entry of Buffer.from(id, 'base64url').toString('utf8').split('|')) {
    const [stream, epoch, offset] = entry.split('~');
    result[decodeURIComponent(stream!)] = [epoch!, Number(offset)];
  }
  return result;
}
