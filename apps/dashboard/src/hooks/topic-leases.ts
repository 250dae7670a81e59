import type { GatewayClient, SubscribeOptions } from '#client';

export interface TopicLease {
  /** Settles with the server's answer to the subscription (shared by every holder of the topic). */
  ready: Promise<void>;
  release(): void;
}

export interface TopicLeases {
  /** `options` (e.g. `replay`) are sent by the first holder; later holders share its subscription. */
  acquire(topic: string, options?: SubscribeOptions): TopicLease;
}

/**
 * Reference-counted topics over one client: several components may use one topic, and the last
 * to let go unsubscribes. The unsubscribe waits a tick, so StrictMode's mount-unmount-mount (or a
 * re-render that swaps components) does not send subscribe, unsubscribe, subscribe.
 */
export function createTopicLeases(client: GatewayClient): TopicLeases {
  const held = new Map<string, { count: number; ready: Promise<void>; pendingRelease?: ReturnType<typeof setTimeout> }>();

  return {
    acquire(topic, options = {}) {
      let entry = held.get(topic);
      if (entry) {
        clearTimeout(entry.pendingRelease);
        entry.pendingRelease = undefined;
        entry.count += 1;
      } else {
        const ready = client.subscribe(topic, options);
        // Holders see the failure through `ready`; a failed topic is not held.
        ready.catch(() => held.delete(topic));
        entry = { count: 1, ready };
        held.set(topic, entry);
      }
      const lease = entry;
      let released = false;
      return {
        ready: lease.ready,
        release() {
          if (released) return;
          released = true;
          lease.count -= 1;
          if (lease.count > 0) return;
          lease.pendingRelease = setTimeout(() => {
            if (held.get(topic) !== lease || lease.count > 0) return;
            held.delete(topic);
            client.unsubscribe(topic).catch(() => undefined); // the server forgets it on disconnect anyway
          }, 0);
        },
      };
    },
  };
}
