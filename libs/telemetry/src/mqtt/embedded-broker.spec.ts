import { describe, expect, it } from '@jest/globals';
import { brokerErrorReason } from './embedded-broker.js';

describe('brokerErrorReason', () => {
  it.each([
    ['Invalid protocol', 'malformed_packet'],
    ['Packet must not have both QoS bits set to 1', 'malformed_packet'],
    ['Invalid variable byte integer', 'malformed_packet'],
    ['Invalid header flag bits, must be 0x0 for puback packet', 'malformed_packet'],
    ['+ is not allowed in PUBLISH', 'bad_topic'],
    ['# is not allowed in PUBLISH', 'bad_topic'],
    ['empty topic not allowed in PUBLISH', 'bad_topic'],
    ['topic has too many levels', 'bad_topic'],
  ])('counts "%s" as %s', (message, reason) => {
    expect(brokerErrorReason(new Error(message))).toBe(reason);
  });

  it('does not count socket errors, keepalive timeouts or the refusals counted where they are made', () => {
    expect(brokerErrorReason(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBeNull();
    expect(brokerErrorReason(new Error('keep alive timeout'))).toBeNull();
    expect(brokerErrorReason(new Error('publication refused: bad_topic'))).toBeNull();
  });
});
