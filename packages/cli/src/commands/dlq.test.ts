/**
 * `brook dlq list`'s read of a dead-letter topic (readNow), in process: retention striking
 * between its look at the end offsets and its read must not leave it waiting for a record that
 * is gone.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { Broker } from '@brook/broker';
import { connect, type Client } from '@brook/client';
import type { GroupPartitionDescription } from '@brook/client';
import { readNow, redriveState } from './dlq.js';

let opened: { broker: Broker; client: Client } | undefined;

afterEach(async () => {
  await opened?.client.close();
  await opened?.broker.close();
  opened = undefined;
});

/** A client whose next describeTopic is answered, then followed by a retention pass before the caller goes on. */
async function retentionAfterNextLook(): Promise<{ broker: Broker; client: Client }> {
  const broker = await Broker.open({ storage: 'memory' });
  const client = await connect(broker);
  opened = { broker, client };
  const describeTopic = client.admin.describeTopic.bind(client.admin);
  vi.spyOn(client.admin, 'describeTopic').mockImplementationOnce(async (topic) => {
    const seen = await describeTopic(topic);
    await broker.enforceRetention();
    return seen;
  });
  return opened;
}

it('finishes, listing nothing, when age retention deletes the whole topic between its look at the end offsets and its read', async () => {
  const { broker, client } = await retentionAfterNextLook();
  await broker.createTopic('dlq-aged-out', { partitions: 2, retention: { maxAgeMs: 60_000 } });
  // Stamped long ago: every record is past maxAgeMs, so the pass takes each log whole.
  await broker.produce('dlq-aged-out', [0, 1].flatMap((partition) => [{ value: 'old', partition, timestamp: 1 }, { value: 'older', partition, timestamp: 1 }]));
  expect(await readNow(client, 'dlq-aged-out', () => true)).toEqual([]);
  expect(broker.describeTopic('dlq-aged-out').partitions.map((p) => p.startOffset)).toEqual([2n, 2n]);
});

it('lists what retention kept, from the oldest record kept on', async () => {
  const { broker, client } = await retentionAfterNextLook();
  await broker.createTopic('dlq-part-aged', { retention: { maxAgeMs: 60_000 }, segmentBytesMax: 4096 });
  await broker.produce('dlq-part-aged', Array.from({ length: 40 }, (_, i) => ({ value: `old${i}`.padEnd(200, '.'), timestamp: 1 })));
  await broker.produce('dlq-part-aged', [{ value: 'new' }]);
  const listed = await readNow(client, 'dlq-part-aged', () => true);
  const { startOffset } = broker.describeTopic('dlq-part-aged').partitions[0]!;
  expect(startOffset).toBeGreaterThan(0n);
  expect(listed.map((r) => r.offset)).toEqual(Array.from({ length: 41 - Number(startOffset) }, (_, i) => startOffset + BigInt(i)));
});

it("redriveState: what the redrive group's floor, end and lag settle about each record, and unknown where they do not", () => {
  // Floor 2, end 6, lag 2: offset 2 waits, and of 3..5 two were moved after 2 was skipped.
  const progress = [{ partition: 0, ackFloor: 2n, endOffset: 6n, lag: 2n }] as GroupPartitionDescription[];
  const state = (offset: bigint, partition = 0) => redriveState(progress, { partition, offset });
  expect([0n, 1n, 2n, 3n, 5n, 6n].map((offset) => state(offset))).toEqual(['redriven', 'redriven', 'waiting', 'unknown', 'unknown', 'waiting']);
  expect(state(0n, 1)).toBe('waiting'); // no redrive on that partition yet
  const allMovedAbove = [{ partition: 0, ackFloor: 2n, endOffset: 6n, lag: 1n }] as GroupPartitionDescription[];
  expect(redriveState(allMovedAbove, { partition: 0, offset: 4n })).toBe('redriven');
  const noneMovedAbove = [{ partition: 0, ackFloor: 2n, endOffset: 6n, lag: 4n }] as GroupPartitionDescription[];
  expect(redriveState(noneMovedAbove, { partition: 0, offset: 4n })).toBe('waiting');
});
