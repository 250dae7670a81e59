import { ErrorCode } from '#contracts';

export type AdmitVerdict = { ok: true } | { ok: false; code: typeof ErrorCode.SERVER_FULL | typeof ErrorCode.TOO_MANY_CONNECTIONS };

/**
 * Counts this instance's connections, Socket.IO and plain WebSocket together, from the moment a
 * handshake is admitted (so concurrent handshakes cannot overshoot the cap) until release.
 * `release` is idempotent: every close path may call it.
 */
export class ConnectionLimiter {
  private readonly addressById = new Map<string, string>();
  private readonly countByAddress = new Map<string, number>();

  constructor(
    private readonly maxConnections: number,
    private readonly maxPerAddress: number,
  ) {}

  get size(): number {
    return this.addressById.size;
  }

  tryAdmit(id: string, address: string): AdmitVerdict {
    if (this.addressById.size >= this.maxConnections) return { ok: false, code: ErrorCode.SERVER_FULL };
    const fromAddress = this.countByAddress.get(address) ?? 0;
    if (this.maxPerAddress > 0 && fromAddress >= this.maxPerAddress) return { ok: false, code: ErrorCode.TOO_MANY_CONNECTIONS };
    this.addressById.set(id, address);
    this.countByAddress.set(address, fromAddress + 1);
    return { ok: true };
  }

  release(id: string): void {
    const address = this.addressById.get(id);
    if (address === undefined) return;
    this.addressById.delete(id);
    const remaining = (this.countByAddress.get(address) ?? 1) - 1;
    if (remaining > 0) this.countByAddress.set(address, remaining);
    else this.countByAddress.delete(address);
  }
}
