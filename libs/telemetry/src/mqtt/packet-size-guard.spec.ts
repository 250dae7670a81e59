import { describe, expect, it } from '@jest/globals';
import mqttPacket from 'mqtt-packet';
import { PacketSizeGuard } from './packet-size-guard.js';

const publish = (bytes: number): Buffer =>
  mqttPacket.generate({ cmd: 'publish', topic: 'sensors/a/b', payload: Buffer.alloc(bytes), qos: 0, dup: false, retain: false, messageId: 0 });

describe('PacketSizeGuard', () => {
  it('passes a stream of packets under the limit, whatever the chunking', () => {
    const stream = Buffer.concat([mqttPacket.generate({ cmd: 'pingreq' }), publish(10), publish(1000), publish(0), publish(200), publish(60_000)]);
    for (const chunkSize of [1, 7, 1024, stream.length]) {
      const sut = new PacketSizeGuard(64 * 1024);
      let accepted = true;
      for (let i = 0; i < stream.length; i += chunkSize) accepted = sut.accept(stream.subarray(i, i + chunkSize)) && accepted;
      expect({ chunkSize, accepted }).toEqual({ chunkSize, accepted: true });
    }
  });

  it('refuses a packet over the limit from its header alone', () => {
    const big = publish(64 * 1024);
    for (const chunkSize of [1, 2, 16]) {
      const sut = new PacketSizeGuard(64 * 1024);
      expect(sut.accept(publish(5))).toBe(true);
      let accepted = true;
      let offset = 0;
      while (accepted && offset < 6) {
        accepted = sut.accept(big.subarray(offset, offset + chunkSize));
        offset += chunkSize;
      }
      expect(accepted).toBe(false);
    }
  });

  it('refuses a malformed remaining length', () => {
    expect(new PacketSizeGuard(Number.MAX_SAFE_INTEGER).accept(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(false);
  });
});
