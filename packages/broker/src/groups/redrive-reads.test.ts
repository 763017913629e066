/**
 * What a redrive reads of its dead-letter topic (docs/semantics.md "Redrive"): a record that cannot
 * go back stays, and keeps the redrive group's floor below every record moved after it. Each
 * redrive read everything from that floor again, acked or not, so a large dead-letter topic
 * redriven in requests (the CLI's, of REDRIVE_REQUEST_RECORDS_MAX) cost O(n^2) reads: 80,000
 * records in requests of 1000 took 11.7 s, 1.5 s with nothing skipped.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PartitionLog } from '../log/partition-log.js';
import { deadLetterRecord } from './dead-letter.js';
import { engineFixture } from './group-fixture.js';
import { values } from './redrive.test-support.js';

const bytes = (text: string) => new TextEncoder().encode(text);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('redrive reads', () => {
  it('a redrive in requests reads each record about once, however many wait behind a record that cannot go back', async () => {
    // A read of at most 1 KiB returns a batch or two: reads count the batches read.
    const { broker } = await engineFixture({ fetchBytesMax: 1024 });
    await broker.createTopic('origin');
    await broker.createTopic('origin.dlq');
    await broker.produce('origin.dlq', [{ value: 'no dead letter: skipped, every time' }]);
    const count = 600;
    const perBatch = 5;
    for (let first = 0; first < count; first += perBatch) {
      await broker.produce('origin.dlq', Array.from({ length: perBatch }, (_, i) => deadLetterRecord.build(
        { key: null, value: bytes(`m${first + i}`), headers: [], timestamp: 1, offset: BigInt(first + i) },
        { topic: 'origin', partition: 0, offset: BigInt(first + i), group: 'g', deliveryCount: 1, reason: 'bad' },
      )));
    }
    const read = vi.spyOn(PartitionLog.prototype, 'read');
    let moved = 0;
    for (let request = 0; request < count / 30; request++) {
      const result = await broker.redrive('origin.dlq', { maxRecords: 30 });
      expect(result).toEqual({ moved: 30, skipped: 1 });
      moved += result.moved;
    }
    expect(moved).toBe(count);
    // A request reads its 30 records (6 batches), plus the batch at the floor: ~7 reads, not ~6 per request before it.
    expect(read.mock.calls.length).toBeLessThanOrEqual(2 * (count / perBatch));
    expect(broker.describeTopic('origin').partitions[0]!.endOffset).toBe(BigInt(count));
    expect(await values(broker, 'origin', 0, 590n)).toEqual(Array.from({ length: 10 }, (_, i) => `m${590 + i}`));
    expect(await broker.redrive('origin.dlq')).toEqual({ moved: 0, skipped: 1 });
  });
});
