/**
 * Follows the MQTT fixed headers in a byte stream (type byte, then a 1-4 byte "remaining length")
 * without parsing packets, so a connection that announces a packet larger than `maxBytes` is cut
 * before the broker buffers it. aedes (through mqtt-packet) has no such limit of its own.
 */
export class PacketSizeGuard {
  /** 'type': expecting a packet's first byte; 'length': in its remaining-length bytes; 'body': skipping its body. */
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly maxBytes: number) {}

  /** False as soon as a packet's header says it is over the limit (or the length is malformed). */
  accept(chunk: Uint8Array): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const skip = Math.min(this.remaining, chunk.length - i);
        this.remaining -= skip;
        i += skip;
        if (this.remaining === 0) this.state = 'type';
      } else if (this.state === 'type') {
        i += 1;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else {
        const byte = chunk[i++]!;
        this.length += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes += 1;
        if (this.length + 1 + this.lengthBytes > this.maxBytes) return false;
        if ((byte & 0x80) === 0) {
          this.remaining = this.length;
          this.state = this.length === 0 ? 'type' : 'body';
        } else if (this.lengthBytes === 4) {
          return false;
        }
      }
    }
    return true;
  }
}
