import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { GatewayError } from '#client';
import type { ServerEventName, ServerEventPayloads } from '#contracts';
import { useGatewayContext } from './gateway-context.js';

type Handler<E extends ServerEventName> = (payload: ServerEventPayloads[E]) => void;

/**
 * Calls `handler` for every `event` on the socket. User-room events (`notification:*`, `xp:gained`,
 * ...) need no topic. The latest handler is called, so it need not be memoised.
 */
export function useEvent<E extends ServerEventName>(event: E, handler: Handler<E>): void {
  const { client } = useGatewayContext();
  const latest = useRef(handler);
  useLayoutEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    const listener = (payload: ServerEventPayloads[E]): void => latest.current(payload);
    // The event map is indexed by a generic key here, which Socket.IO's overloads cannot narrow.
    const socket = client.socket as unknown as { on(event: string, listener: (payload: unknown) => void): void; off(event: string, listener: (payload: unknown) => void): void };
    socket.on(event, listener as (payload: unknown) => void);
    return () => socket.off(event, listener as (payload: unknown) => void);
  }, [client, event]);
}

/**
 * Subscribes to `topic` while mounted (shared and reference-counted, so StrictMode's double mount
 * and several users of one topic are fine) and calls `handler` for `event`. The socket gets an event
 * once even when several of its topics match, so filter on the payload (e.g. `sensorId`) when the
 * same event can come from other topics. Returns the server's refusal, if any.
 */
export function useTopic<E extends ServerEventName>(topic: string | null, event: E, handler: Handler<E>): GatewayError | null {
  const { leases } = useGatewayContext();
  const [error, setError] = useState<GatewayError | null>(null);
  useEvent(event, handler);
  useEffect(() => {
    if (!topic) return;
    const lease = leases.acquire(topic);
    let mounted = true;
    lease.ready.then(
      () => mounted && setError(null),
      (refusal: GatewayError) => mounted && setError(refusal),
    );
    return () => {
      mounted = false;
      lease.release();
    };
  }, [leases, topic]);
  return error;
}
