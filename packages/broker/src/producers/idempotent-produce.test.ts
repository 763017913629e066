import { describe, expect, it } from 'vitest';
import { producerBatch } from './producer-fixture.js';
import { TOPIC, fixtureWithTopic, send, values } from './idempotent-broker-fixture.js';

describe('Broker.initProducer', () => {
  it('issues ids that are never reused, across clean restarts and power cuts', async () => {
    const fixture = await fixtureWithTopic();
    const ids = [(await fixture.broker.initProducer()).producerId, (await fixture.broker.initProducer()).producerId];
    await fixture.broker.close();
    await fixture.restart();
    ids.push((await fixture.broker.initProducer()).producerId);
    await fixture.restart();
    ids.push((await fixture.broker.initProducer()).producerId);
    expect(ids).toEqual([0n, 1n, 2n, 3n]);
  });

  it('resumes a producer at its epoch (a WAL resend after a crash is a duplicate); bumpEpoch fences the old instance', async () => {
    const fixture = await fixtureWithTopic();
    const { producerId, producerEpoch } = await fixture.broker.initProducer();
    const first = await send(fixture.broker, { producerId, epoch: producerEpoch, firstSeq: 0, records: 2 });
    await fixture.restart();
    const { incarnation } = fixture.broker;
    await expect(fixture.broker.initProducer({ producerId })).resolves.toEqual({ producerId, producerEpoch, incarnation });
    await expect(send(fixture.broker, { producerId, epoch: producerEpoch, firstSeq: 0, records: 2 })).resolves.toEqual({ ...first, duplicate: true });
    const bumped = await fixture.broker.initProducer({ producerId, bumpEpoch: true });
    expect(bumped).toEqual({ producerId, producerEpoch: 1, incarnation });
    // Fenced at once, on every partition, including one the new instance has not written to.
    await expect(send(fixture.broker, { producerId, epoch: 0, firstSeq: 2 })).rejects.toMatchObject({ code: 'PRODUCER_FENCED' });
    await expect(send(fixture.broker, { producerId, epoch: 0, firstSeq: 0 }, 1)).rejects.toMatchObject({ code: 'PRODUCER_FENCED' });
    await expect(send(fixture.broker, { producerId, epoch: 1, firstSeq: 0 })).resolves.toMatchObject({ baseOffset: 2n, duplicate: false });
    await fixture.restart();
    await expect(send(fixture.broker, { producerId, epoch: 0, firstSeq: 2 })).rejects.toMatchObject({ code: 'PRODUCER_FENCED' });
  });

  it('keeps its incarnation across restarts and refuses a batch naming another: that directory\'s id, which this one may have issued again', async () => {
    const fixture = await fixtureWithTopic();
    const { producerId, incarnation } = await fixture.broker.initProducer();
    expect(incarnation).toBe(fixture.broker.incarnation);
    await fixture.restart();
    expect(fixture.broker.incarnation).toBe(incarnation);
    const batch = (to: string) => fixture.broker.produceBatch({ topic: TOPIC, partition: 0, batch: producerBatch({ producerId, firstSeq: 0 }), incarnation: to });
    await expect(batch('another')).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID', details: { producerId, incarnation: 'another', currentIncarnation: incarnation } });
    expect(await values(fixture.broker)).toEqual([]);
    await expect(batch(incarnation)).resolves.toMatchObject({ baseOffset: 0n, duplicate: false });
  });

  it('after producers.json is lost over kept logs, a new producer gets an id no partition remembers: its first batch is appended, not taken for an old batch of the same id', async () => {
    const fixture = await fixtureWithTopic();
    const old = await fixture.broker.initProducer();
    await send(fixture.broker, { producerId: old.producerId, firstSeq: 0 });
    await send(fixture.broker, { producerId: old.producerId, firstSeq: 0 }, 1);
    await fixture.broker.close();
    await fixture.fs.unlink(`${fixture.broker.dataDir}/producers.json`);
    await fixture.advance(1000); // a new incarnation draws on the clock
    await fixture.restart({ powerCut: false });
    expect(fixture.broker.incarnation).not.toBe(old.incarnation);
    const fresh = await fixture.broker.initProducer();
    expect(fresh.producerId).toBeGreaterThan(old.producerId);
    await expect(send(fixture.broker, { producerId: fresh.producerId, firstSeq: 0 })).resolves.toMatchObject({ baseOffset: 1n, duplicate: false });
    expect(await values(fixture.broker)).toEqual([`p${old.producerId}-e0-s0`, `p${fresh.producerId}-e0-s0`]);
  });

  it('after producers.json is replaced by an older copy, ids and epochs the logs still remember are not issued again: a new producer\'s first batch is appended, a bumped producer resumes at its epoch', async () => {
    const fixture = await fixtureWithTopic();
    const registry = `${fixture.broker.dataDir}/producers.json`;
    const backup = await fixture.fs.readFile(registry); // from before any id was issued
    const old = await fixture.broker.initProducer();
    await send(fixture.broker, { producerId: old.producerId, firstSeq: 0 });
    const bumped = await fixture.broker.initProducer();
    await fixture.broker.initProducer({ producerId: bumped.producerId, bumpEpoch: true });
    await send(fixture.broker, { producerId: bumped.producerId, epoch: 1, firstSeq: 0 }, 1);
    await fixture.broker.close();
    await fixture.fs.writeFile(registry, backup);
    await fixture.restart({ powerCut: false });
    expect(fixture.broker.incarnation).toBe(old.incarnation);
    const fresh = await fixture.broker.initProducer();
    expect(fresh.producerId).toBeGreaterThan(bumped.producerId);
    await expect(send(fixture.broker, { producerId: fresh.producerId, firstSeq: 0 })).resolves.toMatchObject({ baseOffset: 1n, duplicate: false });
    await expect(fixture.broker.initProducer({ producerId: bumped.producerId })).resolves.toMatchObject({ producerEpoch: 1 });
    await expect(send(fixture.broker, { producerId: bumped.producerId, epoch: 1, firstSeq: 1 }, 1)).resolves.toMatchObject({ baseOffset: 1n, duplicate: false });
    expect(await values(fixture.broker)).toEqual([`p${old.producerId}-e0-s0`, `p${fresh.producerId}-e0-s0`]);
  });

  it('refuses batches of ids or epochs it never issued', async () => {
    const fixture = await fixtureWithTopic();
    await expect(send(fixture.broker, { producerId: 5n, firstSeq: 0 })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    const { producerId } = await fixture.broker.initProducer();
    await expect(send(fixture.broker, { producerId, epoch: 1, firstSeq: 0 })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    await expect(fixture.broker.initProducer({ producerId: 9n })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
  });
});

describe('Broker.produceBatch', () => {
  it('answers a retry with the original offsets: the records are in the log once, announced once', async () => {
    const fixture = await fixtureWithTopic();
    const produced: bigint[] = [];
    fixture.broker.on('produced', (event) => produced.push(event.baseOffset));
    const { producerId } = await fixture.broker.initProducer();
    const original = await send(fixture.broker, { producerId, firstSeq: 0, records: 3 });
    expect(original).toEqual({ baseOffset: 0n, lastOffset: 2n, duplicate: false });
    await expect(send(fixture.broker, { producerId, firstSeq: 0, records: 3 })).resolves.toEqual({ ...original, duplicate: true });
    const [a, b] = await Promise.all([send(fixture.broker, { producerId, firstSeq: 3 }), send(fixture.broker, { producerId, firstSeq: 3 })]);
    expect([a!.duplicate, b!.duplicate]).toEqual([false, true]);
    expect(b!.baseOffset).toBe(a!.baseOffset);
    expect(await values(fixture.broker)).toEqual(['p0-e0-s0', 'p0-e0-s1', 'p0-e0-s2', 'p0-e0-s3']);
    expect(produced).toEqual([0n, 3n]);
  });

  it('answers a retry of part of an appended batch (a producer halved it for a server with lower limits) as a duplicate, with that part\'s offsets', async () => {
    const fixture = await fixtureWithTopic();
    const { producerId } = await fixture.broker.initProducer();
    await send(fixture.broker, { producerId, firstSeq: 0 });
    await expect(send(fixture.broker, { producerId, firstSeq: 1, records: 4 })).resolves.toEqual({ baseOffset: 1n, lastOffset: 4n, duplicate: false });
    await expect(send(fixture.broker, { producerId, firstSeq: 1, records: 2 })).resolves.toEqual({ baseOffset: 1n, lastOffset: 2n, duplicate: true });
    await expect(send(fixture.broker, { producerId, firstSeq: 3, records: 2 })).resolves.toEqual({ baseOffset: 3n, lastOffset: 4n, duplicate: true });
    await expect(send(fixture.broker, { producerId, firstSeq: 4, records: 2 })).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE', details: { expected: 5, got: 4 } });
    await expect(send(fixture.broker, { producerId, firstSeq: 5 })).resolves.toEqual({ baseOffset: 5n, lastOffset: 5n, duplicate: false });
    expect(await values(fixture.broker)).toEqual(['p0-e0-s0', 'p0-e0-s1', 'p0-e0-s2', 'p0-e0-s3', 'p0-e0-s4', 'p0-e0-s5']);
  });

  it('rejects a sequence gap with OUT_OF_ORDER_SEQUENCE and keeps sequences per partition', async () => {
    const fixture = await fixtureWithTopic();
    const { producerId } = await fixture.broker.initProducer();
    await send(fixture.broker, { producerId, firstSeq: 0 });
    await expect(send(fixture.broker, { producerId, firstSeq: 2 })).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE', details: { expected: 1, got: 2 } });
    await expect(send(fixture.broker, { producerId, firstSeq: 0 }, 1)).resolves.toMatchObject({ baseOffset: 0n, duplicate: false });
  });

  it('appends a batch without a producer id every time it is sent', async () => {
    const fixture = await fixtureWithTopic();
    const batch = () => producerBatch({ producerId: -1n, firstSeq: 0 });
    await fixture.broker.produceBatch({ topic: TOPIC, partition: 0, batch: batch() });
    await expect(fixture.broker.produceBatch({ topic: TOPIC, partition: 0, batch: batch() })).resolves.toEqual({ baseOffset: 1n, lastOffset: 1n, duplicate: false });
  });

  it('checks the request before anything else', async () => {
    const fixture = await fixtureWithTopic({ batchRecordsMax: 2 });
    const good = () => producerBatch({ producerId: -1n, firstSeq: 0 });
    await expect(fixture.broker.produceBatch({ topic: 'nope', partition: 0, batch: good() })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(fixture.broker.produceBatch({ topic: TOPIC, partition: 2, batch: good() })).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION' });
    const corrupt = good();
    corrupt[corrupt.length - 1]! += 1;
    await expect(fixture.broker.produceBatch({ topic: TOPIC, partition: 0, batch: corrupt })).rejects.toMatchObject({ code: 'CORRUPT_BATCH', details: { reason: 'bad-crc' } });
    await expect(send(fixture.broker, { producerId: -1n, firstSeq: 0, records: 3 })).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    const { producerId } = await fixture.broker.initProducer();
    await expect(fixture.broker.produceBatch({ topic: TOPIC, partition: 0, batch: producerBatch({ producerId: -2n, firstSeq: 0 }) })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(send(fixture.broker, { producerId, firstSeq: -1 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(fixture.broker.describeTopic(TOPIC).partitions.map((p) => p.endOffset)).toEqual([0n, 0n]);
    await fixture.broker.close();
    await expect(send(fixture.broker, { producerId, firstSeq: 0 })).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it("under discard 'new', a full topic rejects new batches with TOPIC_FULL but still answers retries", async () => {
    const fixture = await fixtureWithTopic({}, { partitions: 1, retention: { maxBytes: 8192, discard: 'new' } });
    const { producerId } = await fixture.broker.initProducer();
    let last = await send(fixture.broker, { producerId, firstSeq: 0 });
    let next = 1;
    const full = await (async () => {
      for (; next < 1000; next++) { // 8 KiB hold far fewer batches: a topic that never fills fails below
        try {
          last = await send(fixture.broker, { producerId, firstSeq: next });
        } catch (error) {
          return error;
        }
      }
    })();
    expect(full).toMatchObject({ code: 'TOPIC_FULL' });
    await expect(send(fixture.broker, { producerId, firstSeq: next - 1 })).resolves.toEqual({ ...last, duplicate: true });
  });

  it('forgets the least recently used producer beyond producersPerPartitionMax', async () => {
    const fixture = await fixtureWithTopic({ producersPerPartitionMax: 1 });
    const p0 = await fixture.broker.initProducer();
    const p1 = await fixture.broker.initProducer();
    await send(fixture.broker, { producerId: p0.producerId, firstSeq: 0 });
    await send(fixture.broker, { producerId: p0.producerId, firstSeq: 1 });
    await send(fixture.broker, { producerId: p1.producerId, firstSeq: 0 });
    await expect(send(fixture.broker, { producerId: p0.producerId, firstSeq: 2 })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    await expect(send(fixture.broker, { producerId: p1.producerId, firstSeq: 1 })).resolves.toMatchObject({ duplicate: false });
  });

  it('a batch without a producer id takes no place among the producersPerPartitionMax: after a power cut, a producer written before plain produces is still known', async () => {
    const fixture = await fixtureWithTopic({ producersPerPartitionMax: 1 });
    const { producerId } = await fixture.broker.initProducer();
    const original = await send(fixture.broker, { producerId, firstSeq: 0 });
    await fixture.broker.produce(TOPIC, [{ value: 'plain', partition: 0 }]);
    await fixture.restart(); // a power cut: the table is rebuilt from the whole log
    await expect(send(fixture.broker, { producerId, firstSeq: 0 })).resolves.toEqual({ ...original, duplicate: true });
    expect(await values(fixture.broker)).toEqual(['p0-e0-s0', 'plain']);
  });

  it('a forgotten producer that started over at sequence 0 under the same epoch: after a power cut, the table rebuilt from the log knows only its new history', async () => {
    const fixture = await fixtureWithTopic({ producersPerPartitionMax: 2 });
    const [p, q, r] = [await fixture.broker.initProducer(), await fixture.broker.initProducer(), await fixture.broker.initProducer()];
    await send(fixture.broker, { producerId: q.producerId, firstSeq: 0 });
    await send(fixture.broker, { producerId: p.producerId, firstSeq: 0, records: 4 }); // offsets 1..4
    // A retry is use too: P is now the least recently used, though Q appended before it.
    await expect(send(fixture.broker, { producerId: q.producerId, firstSeq: 0 })).resolves.toMatchObject({ duplicate: true });
    await send(fixture.broker, { producerId: r.producerId, firstSeq: 0 }); // offset 5: P is forgotten
    await expect(send(fixture.broker, { producerId: p.producerId, firstSeq: 4 })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    const restarted = await send(fixture.broker, { producerId: p.producerId, firstSeq: 0, records: 2 });
    expect(restarted).toEqual({ baseOffset: 6n, lastOffset: 7n, duplicate: false });
    await fixture.restart(); // a power cut: the table is rebuilt from the whole log
    await expect(send(fixture.broker, { producerId: p.producerId, firstSeq: 0, records: 2 })).resolves.toEqual({ ...restarted, duplicate: true });
    // Sequences 2..3 of the forgotten history are at offsets 3..4: these records are new.
    await expect(send(fixture.broker, { producerId: p.producerId, firstSeq: 2, records: 2 })).resolves.toEqual({ baseOffset: 8n, lastOffset: 9n, duplicate: false });
    expect((await values(fixture.broker)).slice(6)).toEqual(['p0-e0-s0', 'p0-e0-s1', 'p0-e0-s2', 'p0-e0-s3']);
  });
});
