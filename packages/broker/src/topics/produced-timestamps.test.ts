/**
 * What a produce may say about time. The log trusts a stored batch's header: its maxTimestamp
 * feeds the time index (offsetForTimestamp, `from: { timestamp }`) and `maxAgeMs` retention, its
 * baseTimestamp `segmentMsMax`. So a client-encoded batch (produceBatch, the wire's `produce`)
 * whose header does not describe its records, or whose records break the timestamp rule
 * (protocol.md, Timestamps), is refused before a byte is written, as Broker.produce refuses such
 * records.
 */
import { describe, expect, it } from 'vitest';
import { crc32c, encodeBatch } from '@brook/protocol';
import { engineFixture } from '../groups/group-fixture.js';

const MAX_TIMESTAMP_AT = 35;
const ATTRIBUTES_AT = 21;
const CRC_AT = 17;
/** The first record's timestampDelta: after the batch header, the record's length and attributes. */
const FIRST_TIMESTAMP_DELTA_AT = 61 + 1 + 1;

function batchAt(timestamps: number[]): Uint8Array {
  return encodeBatch(timestamps.map((timestamp, i) => ({ key: null, value: new TextEncoder().encode(`r${i}`), timestamp })));
}

/** `batch` changed by `edit` (a view of its bytes), its CRC made right again: only deeper checks can tell. */
function edited(batch: Uint8Array, edit: (view: DataView) => void): Uint8Array {
  const copy = batch.slice();
  const view = new DataView(copy.buffer);
  edit(view);
  view.setUint32(CRC_AT, crc32c(copy, ATTRIBUTES_AT, copy.length));
  return copy;
}

async function topicWith(name: string) {
  const world = await engineFixture();
  await world.broker.createTopic(name, { retention: { maxAgeMs: 60_000 } });
  const produceBatch = (batch: Uint8Array) => world.broker.produceBatch({ topic: name, partition: 0, batch });
  const endOffset = () => world.broker.describeTopic(name).partitions[0]!.endOffset;
  return { ...world, produceBatch, endOffset };
}

describe('a produced batch and its timestamps', () => {
  it('whose maxTimestamp is below its largest record timestamp is CORRUPT_BATCH bad-header, nothing appended', async () => {
    // Taken, the time index would promise no record at or after `now` below the next batch
    // (offsetForTimestamp(now) skipped offset 0), and maxAgeMs retention would take a fresh
    // record for one from 1970.
    const { clock, produceBatch, endOffset, broker } = await topicWith('ts-max-low');
    const now = clock.now();
    const lying = edited(batchAt([now]), (view) => view.setBigInt64(MAX_TIMESTAMP_AT, 0n));
    await expect(produceBatch(lying)).rejects.toMatchObject({ code: 'CORRUPT_BATCH', details: { reason: 'bad-header' } });
    expect(endOffset()).toBe(0n);
    await produceBatch(batchAt([now]));
    expect(await broker.offsetForTimestamp('ts-max-low', 0, now)).toBe(0n);
  });

  it('whose maxTimestamp is above its largest record timestamp is CORRUPT_BATCH bad-header (it would hold off maxAgeMs retention)', async () => {
    const { clock, produceBatch, endOffset } = await topicWith('ts-max-high');
    const lying = edited(batchAt([clock.now(), clock.now() - 5]), (view) => view.setBigInt64(MAX_TIMESTAMP_AT, BigInt(clock.now() + 1)));
    await expect(produceBatch(lying)).rejects.toMatchObject({ code: 'CORRUPT_BATCH', details: { reason: 'bad-header' } });
    expect(endOffset()).toBe(0n);
  });

  it("whose baseTimestamp is not its first record's timestamp is CORRUPT_BATCH bad-header", async () => {
    const { clock, produceBatch, endOffset } = await topicWith('ts-base');
    const now = clock.now();
    // The first record's timestampDelta 0 becomes 1 (zig-zag 2): its timestamp is now + 1, still no
    // larger than the second record's, so only the base is wrong.
    const shifted = edited(batchAt([now, now + 10]), (view) => view.setUint8(FIRST_TIMESTAMP_DELTA_AT, 2));
    await expect(produceBatch(shifted)).rejects.toMatchObject({ code: 'CORRUPT_BATCH', details: { reason: 'bad-header' } });
    expect(endOffset()).toBe(0n);
    // The same batch, consistent: its records out of order are fine.
    await produceBatch(edited(batchAt([now + 1, now + 10]), () => undefined));
    await produceBatch(batchAt([now + 10, now, now + 5]));
    expect(endOffset()).toBe(5n);
  });

  it('with a negative record timestamp is INVALID_REQUEST naming the record, as Broker.produce refuses it', async () => {
    const { clock, produceBatch, endOffset, broker } = await topicWith('ts-negative');
    await expect(produceBatch(batchAt([clock.now(), -1]))).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { record: 1 } });
    await expect(broker.produce('ts-negative', [{ value: 'a' }, { value: 'b', timestamp: -1 }])).rejects.toMatchObject({
      code: 'INVALID_REQUEST', details: { record: 1 },
    });
    expect(endOffset()).toBe(0n);
    await produceBatch(batchAt([0]));
    expect(endOffset()).toBe(1n);
  });

  it('stamped LogAppendTime by its producer is INVALID_REQUEST: Brook keeps the time records were made, never one a client says the broker gave', async () => {
    const { clock, produceBatch, endOffset } = await topicWith('ts-log-append');
    const stamped = edited(batchAt([clock.now()]), (view) => view.setInt16(ATTRIBUTES_AT, 0x08));
    await expect(produceBatch(stamped)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { attributes: 0x08 } });
    expect(endOffset()).toBe(0n);
  });
});

const HOUR_MS = 3_600_000;
/** 3000-01-01T00:00:00Z. */
const YEAR_3000_MS = 32_503_680_000_000;

describe('a record stamped ahead of the broker clock', () => {
  it('by more than timestampAheadMsMax (1 h) is INVALID_REQUEST naming it, through produce and produceBatch; exactly 1 h ahead goes', async () => {
    const { clock, produceBatch, endOffset, broker } = await topicWith('ts-ahead');
    const now = clock.now();
    await expect(broker.produce('ts-ahead', [{ value: 'a' }, { value: 'b', timestamp: now + HOUR_MS + 1 }])).rejects.toMatchObject({
      code: 'INVALID_REQUEST', details: { record: 1 },
    });
    await expect(produceBatch(batchAt([now, now + HOUR_MS + 1, now]))).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { record: 1 } });
    expect(endOffset()).toBe(0n);
    await broker.produce('ts-ahead', [{ value: 'a', timestamp: now + HOUR_MS }]);
    await produceBatch(batchAt([now, now + HOUR_MS]));
    expect(endOffset()).toBe(3n);
  });

  it('in the year 3000 is refused, so it cannot keep its partition from maxAgeMs retention for good', async () => {
    // Taken, it would have rolled a segment of its own (segmentMsMax is measured from it on) that
    // no pass deletes before the year 3000, nor any segment after it: only a prefix goes.
    const { broker, advance, endOffset } = await topicWith('ts-year-3000');
    await broker.produce('ts-year-3000', [{ value: 'now' }]);
    await expect(broker.produce('ts-year-3000', [{ value: 'future', timestamp: YEAR_3000_MS }])).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    for (let i = 0; i < 4; i++) {
      await advance(30_000);
      await broker.produce('ts-year-3000', [{ value: `later ${i}` }]);
    }
    await broker.enforceRetention();
    expect(broker.describeTopic('ts-year-3000').partitions[0]!.startOffset).toBeGreaterThan(0n);
    await advance(HOUR_MS);
    await broker.enforceRetention();
    expect(broker.describeTopic('ts-year-3000').partitions[0]!.startOffset).toBe(endOffset());
  });

  it('as far as allowed holds maxAgeMs retention off by at most timestampAheadMsMax', async () => {
    const { clock, broker, advance } = await topicWith('ts-ahead-bound');
    const partition = () => broker.describeTopic('ts-ahead-bound').partitions[0]!;
    await broker.produce('ts-ahead-bound', [{ value: 'ahead', timestamp: clock.now() + HOUR_MS }]);
    for (let i = 0; i < 4; i++) {
      await advance(30_000);
      await broker.produce('ts-ahead-bound', [{ value: `later ${i}` }]);
    }
    // An hour on, the later records are long past maxAgeMs (60 s), but all share a segment with
    // the one stamped ahead (segmentMsMax is measured from it), which is just now.
    await advance(HOUR_MS - 120_000);
    await broker.enforceRetention();
    expect(partition().startOffset).toBe(0n);
    await advance(60_001);
    await broker.enforceRetention();
    expect(partition().startOffset).toBe(partition().endOffset);
  });

  it('is taken at any distance with timestampAheadMsMax at its max (Kafka before 4.0), and then holds retention off as long', async () => {
    const world = await engineFixture({ timestampAheadMsMax: Number.MAX_SAFE_INTEGER });
    await world.broker.createTopic('ts-unbounded');
    await world.broker.produce('ts-unbounded', [{ value: 'future', timestamp: YEAR_3000_MS }]);
    expect(await world.broker.offsetForTimestamp('ts-unbounded', 0, YEAR_3000_MS)).toBe(0n);
  });

  it('is moved all the same by a redrive after the wall clock stepped back: a copy keeps the timestamp its record was taken with', async () => {
    const { clock, broker, settle } = await topicWith('ts-redrive');
    const stamped = clock.now() + HOUR_MS;
    await broker.produce('ts-redrive', [{ value: 'ahead', timestamp: stamped }]);
    await broker.subscribe({ topic: 'ts-redrive', group: 'g-ts-redrive', maxDeliveries: 1 }, (d) => d.reject('bad'));
    await settle(() => broker.describeGroup('ts-redrive', 'g-ts-redrive').partitions[0]!.deadLettered === 1);
    clock.stepWall(-HOUR_MS);
    expect(await broker.redrive('ts-redrive.dlq')).toEqual({ moved: 1, skipped: 0 });
    const [copy] = await broker.fetch({ topic: 'ts-redrive', partition: 0, offset: 1n });
    expect(copy!.timestamp).toBe(stamped);
  });

  it("is answered as the duplicate it is when its idempotent producer resends it after the broker's wall clock stepped back", async () => {
    // The resend of a batch the log holds is no new record: judged anew, it was refused and its
    // producer (a WAL's) set its records aside as poison, though they were in the log.
    const { clock, produceBatch, endOffset, broker } = await topicWith('ts-resend');
    const { producerId, producerEpoch } = await broker.initProducer();
    const batch = encodeBatch([{ key: null, value: null, timestamp: clock.now() + HOUR_MS }], { producerId, producerEpoch, baseSequence: 0 });
    await produceBatch(batch);
    clock.stepWall(-HOUR_MS);
    await expect(produceBatch(batch)).resolves.toMatchObject({ baseOffset: 0n, duplicate: true });
    const next = encodeBatch([{ key: null, value: null, timestamp: clock.now() + HOUR_MS + 1 }], { producerId, producerEpoch, baseSequence: 1 });
    await expect(produceBatch(next)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { record: 0 } });
    expect(endOffset()).toBe(1n);
  });

  it("keeps its age when a redrive moves it back: older than its topic's maxAgeMs, the next retention pass takes it from a quiet partition", async () => {
    const { broker, settle, advance } = await topicWith('ts-redrive-aged');
    await broker.produce('ts-redrive-aged', [{ value: 'old' }]);
    const subscription = await broker.subscribe({ topic: 'ts-redrive-aged', group: 'g-aged', maxDeliveries: 1 }, (d) => d.reject('bad'));
    await settle(() => broker.describeGroup('ts-redrive-aged', 'g-aged').partitions[0]!.deadLettered === 1);
    await subscription.close();
    await advance(120_000);
    expect(await broker.redrive('ts-redrive-aged.dlq')).toEqual({ moved: 1, skipped: 0 });
    await broker.enforceRetention();
    const partition = broker.describeTopic('ts-redrive-aged').partitions[0]!;
    expect([partition.startOffset, partition.endOffset]).toEqual([2n, 2n]);
    expect(broker.describeGroup('ts-redrive-aged', 'g-aged').partitions[0]!.lostToRetention).toBe(1n);
  });
});
