import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { GatewayError, SubscribeOptions } from '#client';
import type { ServerEventName, ServerEventPayloads, StreamMeta } from '#contracts';
import { useGatewayContext } from './gateway-context.js';

type Handler<E extends ServerEventName> = (payload: ServerEventPayloads[E], meta?: StreamMeta) => void;

/**
 * Calls `handler` for every `event` on the socket, without the duplicates a resume could bring.
 * User-room events (`notification:*`, `xp:gained`, ...) need no topic. The latest handler is
 * called, so it need not be memoised.
 */
export function useEvent<E extends ServerEventName>(event: E, handler: Handler<E>): void {
  const { client } = useGatewayContext();
  const latest = useRef(handler);
  useLayoutEffect(() => {
    latest.current = handler;
  });
  useEffect(() => client.on(event, (payload, meta) => latest.current(payload, meta)), [client, event]);
}

/**
 * Calls `onFailed` each time `stream` (a topic or `user:<id>`) could not be resumed after a
 * reconnect (`recovered: false`, a `stream:reset`, or a gateway without history): events may have
 * been missed, so reload that state over HTTP. Returns whether the last resume recovered.
 */
export function useRecovery(stream: string | null, onFailed?: () => void): boolean {
  const { client } = useGatewayContext();
  const [recovered, setRecovered] = useState(true);
  const latest = useRef(onFailed);
  useLayoutEffect(() => {
    latest.current = onFailed;
  });
  useEffect(() => {
    setRecovered(true);
    if (!stream) return;
    return client.onRecovery((which, ok) => {
      if (which !== stream) return;
      setRecovered(ok);
      if (!ok) latest.current?.();
    });
  }, [client, stream]);
  return recovered;
}

export interface TopicOptions extends Pick<SubscribeOptions, 'replay'> {
  /** Called each time the topic could not be resumed after a reconnect (see {@link useRecovery}). */
  onRecoveryFailed?: () => void;
}

export interface TopicState {
  /** The server's refusal of the topic, if any. */
  error: GatewayError | null;
  /** False after a reconnect that could not resume the topic (events may be missing), until one that does. */
  recovered: boolean;
}

/**
 * Subscribes to `topic` while mounted (shared and reference-counted, so StrictMode's double mount
 * and several users of one topic are fine) and calls `handler` for `event`. The socket gets an event
 * once even when several of its topics match, so filter on the payload (e.g. `sensorId`) when the
 * same event can come from other topics. After a reconnect the client resumes the topic where it
 * left off; when it cannot, `recovered` turns false and `onRecoveryFailed` is called. `replay`
 * (1-100) delivers the topic's latest events at once (the first holder's options apply).
 */
export function useTopic<E extends ServerEventName>(topic: string | null, event: E, handler: Handler<E>, options: TopicOptions = {}): TopicState {
  const { leases } = useGatewayContext();
  const [error, setError] = useState<GatewayError | null>(null);
  useEvent(event, handler);
  const recovered = useRecovery(topic, options.onRecoveryFailed);
  const { replay } = options;
  useEffect(() => {
    if (!topic) return;
    const lease = leases.acquire(topic, replay === undefined ? {} : { replay });
    let mounted = true;
    lease.ready.then(
      () => mounted && setError(null),
      (refusal: GatewayError) => mounted && setError(refusal),
    );
    return () => {
      mounted = false;
      lease.release();
    };
  }, [leases, topic, replay]);
  return { error, recovered };
}
