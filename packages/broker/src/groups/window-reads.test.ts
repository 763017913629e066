import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, type FileHandle } from '@brook/protocol';
import { engineFixture } from './group-fixture.js';

/** A MemoryFileSystem that counts the reads of partition segment files (`.log`). */
function countingSegmentReads() {
  const count = { reads: 0 };
  const counting = (handle: FileHandle): FileHandle => new Proxy(handle, {
    get(target, property) {
      if (property === 'readInto' && target.path.endsWith('.log')) {
        return (...args: Parameters<FileHandle['readInto']>) => {
          count.reads += 1;
          return target.readInto(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const fs = new Proxy(new MemoryFileSystem(), {
    get(target, property) {
      if (property === 'open') return async (...args: Parameters<MemoryFileSystem['open']>) => counting(await target.open(...args));
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { fs, count };
}

describe('reading a partition into a group window', () => {
  it("a window kept full by records waiting for their keys ('key') refills in reads of a quarter of it, not one read per freed place", async () => {
    const unackedRecordsMax = 64;
    const records = 640;
    const { fs, count } = countingSegmentReads();
    // No tail cache: every read of the window goes to the segment file, where it can be counted.
    const world = await engineFixture({ fs, logTailCacheBytes: 0, groupUnackedRecordsMax: unackedRecordsMax });
    const topic = 'window-reads-key';
    await world.broker.createTopic(topic, { partitions: 1 });
    const keys = ['a', 'b', 'c', 'd'];
    await world.broker.produce(topic, Array.from({ length: records }, (_, i) => ({ key: keys[i % keys.length]!, value: `${i}` })));
    const seen: string[] = [];
    const readsBefore = count.reads;
    await world.broker.subscribe({ topic, group: 'g', ordering: 'key', maxInFlight: unackedRecordsMax, from: 'earliest' }, (delivery) => {
      seen.push(delivery.text()!);
    });
    await world.settle(() => seen.length === records, 20_000);

    // Each key in offset order, every record once.
    for (let k = 0; k < keys.length; k++) {
      const ofKey = seen.map(Number).filter((n) => n % keys.length === k);
      expect(ofKey).toEqual(Array.from({ length: records / keys.length }, (_, i) => i * keys.length + k));
    }
    // At least a quarter of the window (16 records) a read, after the first: 640 / 16 = 40 reads.
    // Before the rule, each step that freed a place or two read again: 145 reads here.
    expect(count.reads - readsBefore).toBeLessThanOrEqual(records / (unackedRecordsMax / 4) + 2);
    await world.broker.close();
  });
  it('records waiting for their copy to a full dead-letter topic do not stop the records behind them from going out', async () => {
    // A window of 8 reads into room for 2: 7 rejected records whose copies a full dead-letter
    // topic puts off leave room for 1, which must still be read into, or the partition stalls.
    const { broker, settle, advance } = await engineFixture({ groupUnackedRecordsMax: 8 });
    const topic = 'window-reads-dlq-full';
    await broker.createTopic(topic);
    await broker.createTopic(`${topic}.dlq`, { retention: { maxBytes: 300, discard: 'new' } });
    await broker.produce(`${topic}.dlq`, [{ value: 'x'.repeat(200) }]);
    const poison = Array.from({ length: 7 }, () => ({ value: 'poison' }));
    const good = Array.from({ length: 10 }, (_, i) => ({ value: `good ${i}` }));
    await broker.produce(topic, [...poison, ...good]);
    const seen: string[] = [];
    await broker.subscribe({ topic, group: 'g', backoff: { maxMs: 1000 } }, async (delivery) => {
      if (delivery.text() === 'poison') await delivery.reject('bad');
      else seen.push(delivery.text()!);
    });
    await settle();
    await advance(3000);
    await settle();
    expect(seen).toEqual(good.map((record) => record.value));
    expect(broker.describeGroup(topic, 'g').lastError).toBeDefined();
    await broker.close();
  });

  it('records held by handlers that run long do not stop the records behind them from going out to another member', async () => {
    // A window of 8: a member with maxInFlight 7 holds 7 records in handlers that have not
    // finished (leases of an hour); the one place left must still be read into, for the member
    // that acks at once, or the partition waits for the long jobs.
    const { broker, settle } = await engineFixture({ groupUnackedRecordsMax: 8 });
    const topic = 'window-reads-held';
    await broker.createTopic(topic);
    await broker.produce(topic, Array.from({ length: 20 }, (_, i) => ({ value: `${i}` })));
    const options = { topic, group: 'g', ackTimeoutMs: 3_600_000, from: 'earliest' } as const;
    const held: string[] = [];
    await broker.subscribe({ ...options, maxInFlight: 7 }, (delivery) => {
      held.push(delivery.text()!);
      return new Promise<void>(() => undefined);
    });
    await settle(() => held.length === 7);
    const acked: string[] = [];
    await broker.subscribe({ ...options, maxInFlight: 10 }, (delivery) => {
      acked.push(delivery.text()!);
    });
    await settle(() => acked.length === 13, 2_000);
    expect([...held, ...acked].map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await broker.close();
  });

  it("a read that fails shows in describeGroup's lastError until a later step reads: then what it missed is delivered", async () => {
    // Without the tail cache, a group's read reads the segment file.
    const { broker, settle, fs } = await engineFixture({ logTailCacheBytes: 0 });
    await broker.createTopic('wr-read-fails');
    const seen: (string | null)[] = [];
    await broker.subscribe({ topic: 'wr-read-fails', group: 'g' }, (d) => void seen.push(d.text()));
    fs.failNext('read', { errno: 'EIO' });
    await broker.produce('wr-read-fails', [{ value: 'a' }]);
    await settle(() => broker.describeGroup('wr-read-fails', 'g').lastError !== undefined);
    expect(broker.describeGroup('wr-read-fails', 'g').lastError).toMatch(/IO_ERROR.*EIO/);
    expect(seen).toEqual([]);
    await broker.produce('wr-read-fails', [{ value: 'b' }]);
    await settle(() => broker.describeGroup('wr-read-fails', 'g').lag === 0n);
    expect(seen).toEqual(['a', 'b']);
    expect(broker.describeGroup('wr-read-fails', 'g').lastError).toBeUndefined();
  });

  it('a read that fails is tried again by itself after the backoff, so a backlog nobody produces to does not stall on it; again and again, further apart', async () => {
    const { broker, settle, fs, advance } = await engineFixture({ logTailCacheBytes: 0 });
    await broker.createTopic('wr-read-retried');
    await broker.produce('wr-read-retried', [{ value: 'a' }, { value: 'b' }]);
    const seen: (string | null)[] = [];
    fs.failNext('read', { errno: 'EIO', times: 2 });
    await broker.subscribe({ topic: 'wr-read-retried', group: 'g', backoff: { initialMs: 100, multiplier: 2, jitter: 0 } }, (d) => void seen.push(d.text()));
    await settle(() => broker.describeGroup('wr-read-retried', 'g').lastError !== undefined);
    await advance(99);
    expect(seen).toEqual([]);
    await advance(1); // the first retry, 100 ms after: its read fails too
    await settle();
    expect(broker.describeGroup('wr-read-retried', 'g').lastError).toMatch(/IO_ERROR.*EIO/);
    await advance(199);
    expect(seen).toEqual([]);
    await advance(1); // the second, 200 ms after the first: it reads
    await settle(() => broker.describeGroup('wr-read-retried', 'g').lag === 0n);
    expect(seen).toEqual(['a', 'b']);
    expect(broker.describeGroup('wr-read-retried', 'g').lastError).toBeUndefined();
  });
});
