import { describe, expect, it, jest } from '@jest/globals';
import { ANONYMOUS } from './public-access.js';
import { StreamPublication } from '../streams/stream-history.js';
import type { Subscriber } from '../hub/subscriber.js';
import { SensorDialectTransport } from './sensor-dialect.transport.js';

describe('SensorDialectTransport', () => {
  const sent: [string, string][] = [];
  const transport = new SensorDialectTransport<Subscriber>((subscriber, frame) => sent.push([subscriber.id, frame]));
  const member = (id: string): Subscriber => ({ id, transport, identity: ANONYMOUS });
  const reading = { sensorId: 'b-1', metric: 't', value: 1, ts: 1_700_000_000_000 };
  const publication = StreamPublication.fromValue('reading:new', reading, 1, { readings: 4, 'sensor:b-1': 9 }, { readings: 'e1', 'sensor:b-1': 'e2' });

  it('builds one flat frame per group, with the positions of the streams the group holds', () => {
    sent.length = 0;
    const stringify = jest.spyOn(JSON, 'stringify');
    try {
      transport.deliver(publication, { streams: ['sensor:b-1'], members: [member('a'), member('b'), member('c')] });
      expect(stringify).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
    expect(sent.map(([id]) => id)).toEqual(['a', 'b', 'c']);
    expect(new Set(sent.map(([, frame]) => frame)).size).toBe(1);
    expect(JSON.parse(sent[0]![1])).toMatchObject({
      type: 'entity_event',
      entity_type: 'reading',
      entity_id: 'b-1',
      positions: { 'sensor:b-1': 9 },
      epoch: { 'sensor:b-1': 'e2' },
    });
  });

  it('sends a publication the history could not store without positions', () => {
    sent.length = 0;
    transport.deliver(publication, { streams: [], members: [member('a')] });
    const frame = JSON.parse(sent[0]![1]);
    expect(frame).toMatchObject({ type: 'entity_event', entity_type: 'reading' });
    expect(frame).not.toHaveProperty('positions');
    expect(frame).not.toHaveProperty('epoch');
  });

  it('tells of a reset as /ws does', () => {
    sent.length = 0;
    transport.reset(member('a'), ['sensors', 'readings']);
    expect(sent).toEqual([['a', '{"type":"reset","streams":["sensors","readings"]}']]);
  });
});
