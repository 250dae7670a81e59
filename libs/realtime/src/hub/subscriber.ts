import type { Identity } from '#auth';
import type { StreamPublication } from '../streams/stream-history.js';

/**
 * The subscription hub's adapter API: what a transport (Socket.IO, `/ws`, SSE, a device dialect)
 * implements to sit on top of {@link SubscriptionHub}. The hub owns who holds which stream, the
 * ACL, the limits, positions and joins; a transport only turns a publication into its own frame
 * and writes it. A new transport is a class implementing {@link HubTransport} plus the code that
 * accepts its connections and calls `hub.register / subscribe / unsubscribe / unregister`.
 */

/** The protocol label of a transport (metrics, logs). */
export type HubProtocol = 'socketio' | 'ws' | 'sse' | (string & {});

/** One connection as the hub knows it. Transports may extend it with their own fields (the socket, the response). */
export interface Subscriber {
  /** Unique on this instance (a Socket.IO socket id, `ws-<uuid>`, ...). */
  readonly id: string;
  readonly transport: HubTransport<any>;
  /** Read at every subscribe (ACL); a transport replaces it after a token refresh, then calls `hub.revalidate`. */
  identity: Identity;
}

/**
 * Subscribers of one transport that get one publication with the same `meta`: encode the
 * publication once for the group, then write it to each member. Never per member.
 */
export interface DeliveryGroup<S extends Subscriber = Subscriber> {
  /**
   * The streams of the publication that these subscribers hold: the keys of their `meta`. Empty
   * for a publication the history could not store (Redis away, delivered locally): send it without
   * `meta` then.
   */
  readonly streams: readonly string[];
  /** At least one subscriber; iterate once. */
  readonly members: Iterable<S>;
  /**
   * Set when the group is exactly "this transport's subscribers of `stream` that hold none of
   * `except`" (and, for `reading:new`, do not take `stream` in batches): a transport that mirrors
   * the hub's membership into rooms of its own (Socket.IO) may emit to those rooms instead of
   * iterating `members`.
   */
  readonly room?: { readonly stream: string; readonly except: readonly string[] };
}

/** How a subscriber holds a stream. */
export interface HoldOptions {
  /** Socket.IO `batchMs`: this stream's `reading:new` reaches the subscriber as `reading:batch`. */
  batchMs?: number;
}

export interface HubTransport<S extends Subscriber = Subscriber> {
  readonly protocol: HubProtocol;
  /** One publication to a group (live delivery), or to one joining subscriber (its replay), in offset order. */
  deliver(publication: StreamPublication, group: DeliveryGroup<S>): void;
  /** These streams lost continuity for this subscriber: tell it (`stream:reset`, a reset frame); it reloads over HTTP. */
  reset(subscriber: S, streams: readonly string[]): void;
  /** The subscriber now holds `stream` (after its join): mirror it (e.g. join a room). Optional. */
  attached?(subscriber: S, stream: string, options: HoldOptions): void;
  /** The subscriber no longer holds `stream` (unsubscribe, ACL after a refresh, disconnect). Optional. */
  detached?(subscriber: S, stream: string): void;
}
