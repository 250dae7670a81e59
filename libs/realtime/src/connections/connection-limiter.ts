import { ErrorCode } from '#contracts';

export type AdmitVerdict = { ok: true } | { ok: false; code: typeof ErrorCode.SERVER_FULL | typeof ErrorCode.TOO_MANY_CONNECTIONS };

/** A plain WebSocket client's id, or a Socket.IO transport connection (engine.io keeps its id private). */
export type ConnectionKey = string | object;

/**
 * Counts this instance's connections, Socket.IO and plain WebSocket together: a Socket.IO transport
 * from the moment it opens (authenticated or not), a plain WebSocket from the moment its upgrade is
 * admitted (so concurrent handshakes cannot overshoot the cap), each until release.
 * `release` is idempotent: every close path may call it.
 */
export class ConnectionLimiter {
  private readonly addressByConnection = new Map<ConnectionKey, string>();
  private readonly countByAddress = new Map<string, number>();

  constructor(
    private readonly maxConnections: number,
    private readonly maxPerAddress: number,
  ) {}

  get size(): number {
    return this.addressByConnection.size;
  }

  holds(connection: ConnectionKey): boolean {
    return this.addressByConnection.has(connection);
  }

  /** Admitting a connection it already holds would count it twice: callers check {@link holds} first. */
  tryAdmit(connection: ConnectionKey, address: string): AdmitVerdict {
    if (this.addressByConnection.size >= this.maxConnections) return { ok: false, code: ErrorCode.SERVER_FULL };
    const fromAddress = this.countByAddress.get(address) ?? 0;
    if (this.maxPerAddress > 0 && fromAddress >= this.maxPerAddress) return { ok: false, code: ErrorCode.TOO_MANY_CONNECTIONS };
    this.addressByConnection.set(connection, address);
    this.countByAddress.set(address, fromAddress + 1);
    return { ok: true };
  }

  release(connection: ConnectionKey): void {
    const address = this.addressByConnection.get(connection);
    if (address === undefined) return;
    this.addressByConnection.delete(connection);
    const remaining = (this.countByAddress.get(address) ?? 1) - 1;
    if (remaining > 0) this.countByAddress.set(address, remaining);
    else this.countByAddress.delete(address);
  }
}
