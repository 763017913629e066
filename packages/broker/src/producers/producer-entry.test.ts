import { describe, expect, it } from 'vitest';
import { readBatchHeader, type BatchHeader } from '@brook/protocol';
import { producerBatch } from './producer-fixture.js';
import {
  RECENT_BATCHES_PER_PRODUCER, SEQUENCE_MAX, addToSequence, checkSequence, recentBatch, withBatch, type ProducerEntry,
} from './producer-entry.js';

function header(firstSeq: number, records = 1, epoch = 0): BatchHeader {
  return readBatchHeader(producerBatch({ producerId: 7n, epoch, firstSeq, records }));
}

/** An entry whose batches are the given [firstSeq, records] at consecutive offsets from 100. */
function entryOf(batches: [number, number][], epoch = 0): ProducerEntry {
  let entry: ProducerEntry | undefined;
  let offset = 100n;
  for (const [firstSeq, records] of batches) {
    entry = withBatch(entry, epoch, recentBatch(header(firstSeq, records, epoch), offset));
    offset += BigInt(records);
  }
  return entry!;
}

describe('sequence numbers', () => {
  it('wrap from 2^31-1 to 0, as Kafka clients number them', () => {
    expect(addToSequence(5, 3)).toBe(8);
    expect(addToSequence(SEQUENCE_MAX, 1)).toBe(0);
    expect(addToSequence(SEQUENCE_MAX - 1, 3)).toBe(1);
    expect(recentBatch(header(SEQUENCE_MAX - 1, 3), 0n)).toMatchObject({ firstSeq: SEQUENCE_MAX - 1, lastSeq: 0, baseOffset: 0n, lastOffset: 2n });
  });

  it('accept the batch after a wrapped one at sequence lastSeq + 1', () => {
    const entry = entryOf([[SEQUENCE_MAX - 1, 3]]);
    expect(checkSequence(entry, header(1))).toBeUndefined();
    expect(() => checkSequence(entry, header(2))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE', details: expect.objectContaining({ expected: 1 }) }));
  });
});

describe('checkSequence (Kafka rules)', () => {
  it('an unknown producer may only start at sequence 0', () => {
    expect(checkSequence(undefined, header(0))).toBeUndefined();
    expect(() => checkSequence(undefined, header(3))).toThrow(expect.objectContaining({ code: 'UNKNOWN_PRODUCER_ID', details: expect.objectContaining({ producerId: 7n, baseSequence: 3 }) }));
  });

  it('the next sequence is appended; a remembered batch is a duplicate; anything else is out of order', () => {
    const entry = entryOf([[0, 2], [2, 3]]);
    expect(checkSequence(entry, header(5))).toBeUndefined();
    expect(checkSequence(entry, header(2, 3))).toEqual({ firstSeq: 2, lastSeq: 4, baseOffset: 102n, lastOffset: 104n });
    expect(checkSequence(entry, header(0, 2))).toMatchObject({ baseOffset: 100n });
    expect(() => checkSequence(entry, header(6))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE', details: expect.objectContaining({ expected: 5, got: 6 }) }));
    // Past a remembered batch's end, or across the next sequence: out of order.
    expect(() => checkSequence(entry, header(2, 4))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE' }));
    expect(() => checkSequence(entry, header(4, 2))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE', details: expect.objectContaining({ expected: 5, got: 4 }) }));
  });

  it('a run of sequences within a remembered batch (a part of it sent again) is a duplicate, at its own offsets', () => {
    const entry = entryOf([[0, 2], [2, 3]]);
    expect(checkSequence(entry, header(2, 2))).toEqual({ firstSeq: 2, lastSeq: 3, baseOffset: 102n, lastOffset: 103n });
    expect(checkSequence(entry, header(3, 2))).toEqual({ firstSeq: 3, lastSeq: 4, baseOffset: 103n, lastOffset: 104n });
    expect(checkSequence(entry, header(1))).toEqual({ firstSeq: 1, lastSeq: 1, baseOffset: 101n, lastOffset: 101n });
    const wrapped = entryOf([[SEQUENCE_MAX - 1, 3]]);
    expect(checkSequence(wrapped, header(SEQUENCE_MAX, 2))).toEqual({ firstSeq: SEQUENCE_MAX, lastSeq: 0, baseOffset: 101n, lastOffset: 102n });
    expect(checkSequence(wrapped, header(0))).toEqual({ firstSeq: 0, lastSeq: 0, baseOffset: 102n, lastOffset: 102n });
  });

  it(`remembers exactly the last ${RECENT_BATCHES_PER_PRODUCER} batches`, () => {
    const entry = entryOf(Array.from({ length: RECENT_BATCHES_PER_PRODUCER + 1 }, (_, i): [number, number] => [i, 1]));
    expect(entry.batches).toHaveLength(RECENT_BATCHES_PER_PRODUCER);
    for (let seq = 1; seq <= RECENT_BATCHES_PER_PRODUCER; seq++) expect(checkSequence(entry, header(seq))).toMatchObject({ firstSeq: seq });
    expect(() => checkSequence(entry, header(0))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE' }));
  });

  it('an older epoch is fenced; a newer one must start at 0 and starts a fresh history', () => {
    const entry = entryOf([[0, 1], [1, 1]], 3);
    expect(() => checkSequence(entry, header(2, 1, 2))).toThrow(expect.objectContaining({ code: 'PRODUCER_FENCED', details: expect.objectContaining({ currentEpoch: 3 }) }));
    expect(() => checkSequence(entry, header(2, 1, 4))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE', details: expect.objectContaining({ expected: 0 }) }));
    expect(checkSequence(entry, header(0, 1, 4))).toBeUndefined();
    const next = withBatch(entry, 4, recentBatch(header(0, 1, 4), 200n));
    expect(next).toEqual({ epoch: 4, batches: [{ firstSeq: 0, lastSeq: 0, baseOffset: 200n, lastOffset: 200n }] });
  });
});
