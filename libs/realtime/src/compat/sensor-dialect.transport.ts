import type { DeliveryGroup, HubTransport, Subscriber } from '../hub/subscriber.js';
import type { StreamPublication } from '../streams/stream-history.js';
import { flatFrameJson } from './flat-frame.js';

/**
 * The sensor module's dialect as a transport of the subscription hub (CONTRACT.md §14): the
 * connections are `/ws`'s (same upgrade, limits and in-frames), only the frames differ. One flat
 * frame per delivery group, with the group's positions, never one per subscriber.
 */
export class SensorDialectTransport<S extends Subscriber> implements HubTransport<S> {
  /** Counted with `/ws` (metrics, stats): the same endpoint family. */
  readonly protocol = 'ws';

  constructor(private readonly send: (subscriber: S, frame: string) => void) {}

  deliver(publication: StreamPublication, group: DeliveryGroup<S>): void {
    let frame: string | null = null;
    for (const subscriber of group.members) {
      // No streams: a publication the history could not store (Redis away): no positions to give.
      frame ??= flatFrameJson(publication, group.streams.length === 0 ? undefined : publication.metaFor(group.streams));
      this.send(subscriber, frame);
    }
  }

  /** As on `/ws`: these streams lost continuity; the client reloads over HTTP. */
  reset(subscriber: S, streams: readonly string[]): void {
    this.send(subscriber, JSON.stringify({ type: 'reset', streams }));
  }
}
