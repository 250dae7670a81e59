import { timingSafeEqual } from 'node:crypto';
import { ID_PATTERN, parseSensorTopic } from '#contracts';
import type { DeviceCredentialStore } from '../devices/device-credential.store.js';
import { verifyDeviceToken } from '../devices/device-token.js';

/** Who an MQTT connection of the embedded broker belongs to. */
export type Principal = { kind: 'gateway' } | { kind: 'device'; sensorId: string } | { kind: 'anonymous' };

/** The username of the gateway's own clients (its transport, the demo feed); never a sensor id (`$` is not allowed there). */
export const GATEWAY_USERNAME = '$gateway';

/** Why the broker refused something; also the `reason` label of `mqtt_messages_rejected_total`. */
export type BrokerRefusal = 'unauthorized' | 'retained' | 'bad_topic' | 'subscribe_refused' | 'too_large' | 'malformed_packet';

export interface BrokerAccessOptions {
  topicPrefix: string;
  /** `MQTT_ALLOW_ANONYMOUS`: connections without a username are devices that may publish to any sensor. */
  allowAnonymous: boolean;
  /** The gateway transport's client id: only the gateway's own credentials may take that session. */
  gatewayClientId: string;
  /** Generated per process: the password of {@link GATEWAY_USERNAME}. */
  gatewaySecret: string;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; returnCode: 4 | 5 };

/**
 * The embedded broker's rules (CONTRACT §12, §13), free of aedes so they are tested alone:
 * a device logs in with its sensor id and token and publishes only to `sensors/<its id>/<metric>`;
 * nobody but the gateway subscribes; nothing is retained; nothing outside `sensors/+/+` is accepted.
 */
export class BrokerAccess {
  private readonly secret: Buffer;

  constructor(
    private readonly options: BrokerAccessOptions,
    private readonly credentials: DeviceCredentialStore,
  ) {
    this.secret = Buffer.from(options.gatewaySecret);
  }

  /** `holder`: the principal of a live connection that already uses `clientId`, if any. */
  async authenticate(clientId: string, username: string | undefined, password: Buffer | undefined, holder?: Principal): Promise<AuthResult> {
    const principal = await this.identify(clientId, username, password);
    if (!principal.ok) return principal;
    // Taking over a live session of someone else (a device kicking another off, or the gateway) is refused.
    if (holder && !samePrincipal(holder, principal.principal)) return { ok: false, returnCode: 5 };
    return principal;
  }

  /** Null when allowed. `principal` is undefined for the broker's own publications (stale wills). */
  authorizePublish(principal: Principal | undefined, topic: string, retain: boolean): BrokerRefusal | null {
    if (!principal) return 'unauthorized';
    if (retain) return 'retained';
    const relative = topic.startsWith(this.options.topicPrefix) ? topic.slice(this.options.topicPrefix.length) : null;
    const ids = relative === null ? null : parseSensorTopic(relative);
    if (!ids) return 'bad_topic';
    if (principal.kind === 'device' && principal.sensorId !== ids.sensorId) return 'unauthorized';
    return null;
  }

  /** Devices publish; only the gateway's own clients subscribe. */
  authorizeSubscribe(principal: Principal | undefined): boolean {
    return principal?.kind === 'gateway';
  }

  private async identify(clientId: string, username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    if (username === GATEWAY_USERNAME) {
      return password && password.length === this.secret.length && timingSafeEqual(password, this.secret)
        ? { ok: true, principal: { kind: 'gateway' } }
        : { ok: false, returnCode: 4 };
    }
    if (clientId === this.options.gatewayClientId) return { ok: false, returnCode: 5 };
    if (username === undefined) return this.options.allowAnonymous ? { ok: true, principal: { kind: 'anonymous' } } : { ok: false, returnCode: 5 };
    if (!ID_PATTERN.test(username) || !password || password.length === 0 || password.length > 256) return { ok: false, returnCode: 4 };
    const hash = await this.credentials.get(username);
    return hash !== null && verifyDeviceToken(password, hash) ? { ok: true, principal: { kind: 'device', sensorId: username } } : { ok: false, returnCode: 4 };
  }
}

function samePrincipal(a: Principal, b: Principal): boolean {
  if (a.kind === 'device' && b.kind === 'device') return a.sensorId === b.sensorId;
  return a.kind === b.kind;
}
