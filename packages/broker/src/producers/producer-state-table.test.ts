import { describe, expect, it } from 'vitest';
import { readBatchHeader, type BatchHeader } from '@brook/protocol';
import { SEQUENCE_MAX, checkSequence } from './producer-entry.js';
import { producerBatch } from './producer-fixture.js';
import { ProducerStateTable } from './producer-state-table.js';

const P = 7n;

/** The header of a batch of P as the log holds it, at `baseOffset`. */
function logged(baseOffset: bigint, firstSeq: number, records = 1, epoch = 0): BatchHeader {
  return { ...readBatchHeader(producerBatch({ producerId: P, epoch, firstSeq, records })), baseOffset };
}

/** The first sequence of each batch the table remembers for P. */
function remembered(table: ProducerStateTable): number[] {
  return table.get(P)!.batches.map((batch) => batch.firstSeq);
}

describe('ProducerStateTable.replay', () => {
  it('keeps a history going across the wrap of sequences past 2^31-1', () => {
    const table = new ProducerStateTable(10);
    table.replay(logged(0n, SEQUENCE_MAX - 1, 2)); // ends at 2^31-1
    table.replay(logged(2n, 0, 2)); // follows it
    expect(remembered(table)).toEqual([SEQUENCE_MAX - 1, 0]);
    expect(checkSequence(table.get(P), logged(0n, SEQUENCE_MAX - 1, 2))).toEqual({ firstSeq: SEQUENCE_MAX - 1, lastSeq: SEQUENCE_MAX, baseOffset: 0n, lastOffset: 1n });
    expect(checkSequence(table.get(P), logged(0n, 2))).toBeUndefined();
  });

  it('starts a fresh history at a batch that does not follow: a new epoch, or the same one started over at 0 after the producer was forgotten', () => {
    const table = new ProducerStateTable(10);
    for (let seq = 0; seq < 3; seq++) table.replay(logged(BigInt(seq), seq));
    table.replay(logged(3n, 0, 1, 1));
    expect(table.get(P)).toEqual({ epoch: 1, batches: [{ firstSeq: 0, lastSeq: 0, baseOffset: 3n, lastOffset: 3n }] });
    table.replay(logged(4n, 1, 1, 1));
    table.replay(logged(5n, 0, 1, 1));
    expect(table.get(P)).toEqual({ epoch: 1, batches: [{ firstSeq: 0, lastSeq: 0, baseOffset: 5n, lastOffset: 5n }] });
  });
});
