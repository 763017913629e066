import { partitionForKey, type AsciiText } from '@brook/protocol';
import { describe, expect, it } from 'vitest';
import type { SendInputs } from '../values.js';
import { Partitioner } from './partitioner.js';

function unkeyed(count: number): SendInputs {
  return { inputs: Array.from({ length: count }, () => ({ key: null, value: null, timestamp: 0 })), partitions: Array.from({ length: count }, () => undefined) };
}

function setup(firstDraw: number) {
  const forgotten: string[] = [];
  const partitioner = new Partitioner({ next: () => 0, int: () => firstDraw }, { forget: (topic) => forgotten.push(topic) });
  return { partitioner, forgotten };
}

describe('Partitioner', () => {
  it('goes on round-robin within the new count when the topic comes back with fewer partitions', () => {
    const { partitioner } = setup(2);
    expect(partitioner.partitionsFor('t', 4, unkeyed(2))).toEqual([2, 3]);
    expect(partitioner.partitionsFor('t', 4, unkeyed(1))).toEqual([0]);
    expect(partitioner.partitionsFor('t', 4, unkeyed(1))).toEqual([1]);
    // Next in turn by the old count is 2, which a topic of 2 partitions does not have.
    expect(partitioner.partitionsFor('t', 2, unkeyed(3))).toEqual([0, 1, 0]);
  });

  it("puts a key on Kafka's murmur2 partition and an explicit partition where it says; one past the count is UNKNOWN_PARTITION and forgets the count", () => {
    const { partitioner, forgotten } = setup(0);
    const key = 'foobar' as AsciiText;
    const inputs: SendInputs = { inputs: [{ key, value: null, timestamp: 0 }, { key: null, value: null, timestamp: 0 }], partitions: [undefined, 11] };
    expect(partitioner.partitionsFor('t', 12, inputs)).toEqual([partitionForKey(key, 12), 11]);
    expect(() => partitioner.partitionsFor('t', 11, inputs)).toThrow(expect.objectContaining({ code: 'UNKNOWN_PARTITION', details: { topic: 't', partition: 11, record: 1 } }));
    expect(forgotten).toEqual(['t']);
  });
});
