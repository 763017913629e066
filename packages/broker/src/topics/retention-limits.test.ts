/**
 * retention.maxBytes under discard 'new' at its boundary: a partition fills to exactly maxBytes,
 * the next byte is refused (TOPIC_FULL while consumers may free room, MESSAGE_TOO_LARGE for a
 * batch that could never fit), and a refused produce leaves every partition as it was; room frees
 * only below the lowest ackFloor of the topic's groups.
 */
import { describe, expect, it } from 'vitest';
import { engineFixture } from '../groups/group-fixture.js';

const record = (valueBytes: number) => ({ value: 'x'.repeat(valueBytes), timestamp: 0 });

async function fullTopic(name: string, maxBytes: (batchBytes: number) => number) {
  const { broker } = await engineFixture();
  await broker.createTopic(`${name}-probe`);
  await broker.produce(`${name}-probe`, [record(200)]);
  const batchBytes = broker.describeTopic(`${name}-probe`).partitions[0]!.sizeBytes;
  await broker.createTopic(name, { retention: { maxBytes: maxBytes(batchBytes), discard: 'new' } });
  const partition = () => broker.describeTopic(name).partitions[0]!;
  return { broker, batchBytes, partition };
}

describe("retention.maxBytes with discard 'new'", () => {
  it('takes batches up to exactly maxBytes; the next is TOPIC_FULL and changes nothing', async () => {
    const { broker, batchBytes, partition } = await fullTopic('fills', (batchBytes) => 3 * batchBytes);
    for (let i = 0; i < 3; i++) await broker.produce('fills', [record(200)]);
    expect(partition().sizeBytes).toBe(3 * batchBytes);
    await expect(broker.produce('fills', [record(0)])).rejects.toMatchObject({
      code: 'TOPIC_FULL', retriable: true,
      details: { topic: 'fills', partition: 0, sizeBytes: 3 * batchBytes, inFlightBytes: 0, maxBytes: 3 * batchBytes },
    });
    expect([partition().sizeBytes, partition().endOffset]).toEqual([3 * batchBytes, 3n]);
  });

  it('takes a lone batch of exactly maxBytes; one byte larger can never fit: MESSAGE_TOO_LARGE', async () => {
    const { broker, batchBytes, partition } = await fullTopic('lone', (batchBytes) => batchBytes);
    await expect(broker.produce('lone', [record(201)])).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { batchBytes: batchBytes + 1 } });
    expect(partition().endOffset).toBe(0n);
    await broker.produce('lone', [record(200)]);
    expect(partition().sizeBytes).toBe(batchBytes);
  });

  it('a produce to several partitions refused with TOPIC_FULL on one of them appends to none', async () => {
    const { broker } = await engineFixture();
    await broker.createTopic('spread-full', { partitions: 2, retention: { maxBytes: 1000, discard: 'new' } });
    for (let i = 0; i < 3; i++) await broker.produce('spread-full', [{ ...record(200), partition: 0 }]);
    const endOffsets = () => broker.describeTopic('spread-full').partitions.map((p) => p.endOffset);
    await expect(broker.produce('spread-full', [{ ...record(200), partition: 1 }, { ...record(200), partition: 0 }])).rejects.toMatchObject({ code: 'TOPIC_FULL' });
    expect(endOffsets()).toEqual([3n, 0n]);
    // Its turn taken and given back on both partitions: later produces to either go through.
    await broker.produce('spread-full', [{ ...record(200), partition: 1 }]);
    expect(endOffsets()).toEqual([3n, 1n]);
  });

  it('a produce to several partitions with a batch that could never fit is MESSAGE_TOO_LARGE, though another partition is full', async () => {
    const { broker } = await engineFixture();
    await broker.createTopic('spread-never', { partitions: 2, retention: { maxBytes: 1000, discard: 'new' } });
    for (let i = 0; i < 3; i++) await broker.produce('spread-never', [{ ...record(200), partition: 0 }]);
    // Not retriable: retrying it (TOPIC_FULL) would wait for room that could never be enough.
    await expect(broker.produce('spread-never', [{ ...record(200), partition: 0 }, { ...record(2000), partition: 1 }]))
      .rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', retriable: false, details: { partition: 1 } });
  });

  it('produces to overlapping partitions, not awaited in between, neither wait for each other nor reorder', async () => {
    const { broker } = await engineFixture();
    await broker.createTopic('spread-order', { partitions: 2, retention: { maxBytes: 100_000, discard: 'new' } });
    const calls = Array.from({ length: 20 }, (_, i) => broker.produce('spread-order', [
      { ...record(10), partition: i % 2 }, { ...record(10), partition: 1 - (i % 2) },
    ]));
    const results = await Promise.all(calls);
    for (const partition of [0, 1]) {
      const offsets = results.map((r) => r.find((at) => at.partition === partition)!.offset);
      expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)));
    }
  });
});

describe("discard 'new' room checks and groups whose journal failed", () => {
  it("a produce whose room check drops records by age is not refused for another group's failed journal", async () => {
    const world = await engineFixture();
    const { broker, fs } = world;
    const topic = 'room-journal-failed';
    await broker.createTopic(topic, { retention: { maxBytes: 1000, maxAgeMs: 60_000, discard: 'new' } });
    const held: { ack(): Promise<void> }[] = [];
    await broker.subscribe({ topic, group: 'failed' }, (d) => {
      held.push(d);
      return new Promise(() => undefined);
    });
    for (let i = 0; i < 3; i++) await broker.produce(topic, [{ value: 'x'.repeat(200) }]);
    await world.settle(() => held.length > 0);
    fs.failNext('write', { errno: 'EIO', path: /\/groups\/room-journal-failed\/failed\// });
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(broker.produce(topic, [{ value: 'x'.repeat(200) }])).rejects.toMatchObject({ code: 'TOPIC_FULL' });
    await world.advance(120_000);
    // Every record is older than maxAgeMs: the room check deletes them and the produce fits.
    await expect(broker.produce(topic, [{ value: 'y'.repeat(200) }])).resolves.toHaveLength(1);
    expect(broker.describeTopic(topic).partitions[0]!.startOffset).toBe(3n);
  });
});

describe("discard 'new': what a produce's room check deletes", () => {
  /** A topic of 4 KiB segments holding `records` 200-byte records, all consumed by a group whose handler acks only the first `acked`. */
  async function consumedTopic(topic: string, records: number, acked: number) {
    const world = await engineFixture();
    await world.broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 16_384, discard: 'new' } });
    for (let i = 0; i < records; i++) await world.broker.produce(topic, [record(200)]);
    let seen = 0;
    await world.broker.subscribe({ topic, group: 'g', maxInFlight: 1000 }, (d) => (seen++ < acked ? d.ack() : new Promise(() => undefined)));
    await world.settle(() => seen === records);
    await world.settle(() => world.broker.describeGroup(topic, 'g').partitions[0]!.ackFloor === BigInt(acked));
    return { ...world, partition: () => world.broker.describeTopic(topic).partitions[0]! };
  }

  it('nothing, when the batch fits: consumed segments stay until a produce needs their room, or a retention pass', async () => {
    const { broker, partition } = await consumedTopic('room-fits', 40, 40);
    const before = partition();
    expect(before.segments).toBeGreaterThan(1);
    await broker.produce('room-fits', [record(200)]);
    expect(partition()).toMatchObject({ startOffset: 0n, segments: before.segments });
    await broker.enforceRetention();
    expect(partition().startOffset).toBeGreaterThan(0n);
  });

  it('nothing, when the batch is refused: no segment sealed while a group has records of the active one to consume', async () => {
    const { broker, partition } = await consumedTopic('room-refused', 55, 10);
    const before = partition();
    await expect(broker.produce('room-refused', [record(2000)])).rejects.toMatchObject({ code: 'TOPIC_FULL' });
    expect(partition()).toEqual(before);
  });
});

describe("discard 'new' with several groups", () => {
  it('frees a segment only once every group has acked it: the slowest group holds it, whichever group came first', async () => {
    const world = await engineFixture();
    const { broker } = world;
    const topic = 'two-floors';
    await broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 16384, discard: 'new' } });
    await broker.subscribe({ topic, group: 'g-fast' }, () => undefined);
    await broker.subscribe({ topic, group: 'g-slow', maxInFlight: 1 }, () => new Promise<void>(() => undefined));
    let full = false;
    for (let i = 0; i < 100 && !full; i++) {
      full = await broker.produce(topic, [record(200)]).then(() => false, (error: { code: string }) => error.code === 'TOPIC_FULL');
      await world.settle();
    }
    expect(full).toBe(true);
    expect(broker.describeGroup(topic, 'g-fast').lag).toBe(0n);
    await broker.enforceRetention();
    expect(broker.describeTopic(topic).partitions[0]!.startOffset).toBe(0n);
  });
});
