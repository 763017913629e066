/**
 * The WAL producer against an in-process broker, WAL on an in-memory disk, virtual clock:
 * delivery, the restart after a crash between the broker's ack and the commit (issue case 8),
 * partitions fixed at put time, poison set aside, retriable errors retried with backoff, a
 * broker that forgot the producer, and the configuration checks.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect, type PoisonReport, type RetryReport, type WalBatch } from '@brook/client';
import { decodeBatch, isBrookError, type BrookError } from '@brook/protocol';
import { PRODUCER_WAL_DIR, WalProducerHost, numbered } from '@brook/examples';

const never = new Promise<void>(() => undefined);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** `count` records numbered from `from`, each value 100 bytes (zero-padded), so each takes the same WAL bytes. */
const padded = (from: number, count: number): { value: string }[] => range(from, from + count - 1).map((n) => ({ value: String(n).padStart(100, '0') }));

/** The WAL bytes one `padded` record for partition 0 of `topic` takes, measured on a scratch WAL. */
async function walBytesPerRecord(topic: string): Promise<number> {
  const scratch = await WalProducerHost.create({ [topic]: 1 });
  const { producer } = await scratch.start();
  await producer.send(topic, padded(1, 1));
  const { walBytes } = producer.stats.wal!;
  await producer.close();
  await scratch.broker.close();
  return walBytes;
}

describe('WAL producer', () => {
  it('send() resolves once the records are in the WAL; flush() once the broker has them, in order', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const { producer } = await host.start();
    const results = await producer.send('orders', numbered(1, 7));
    expect(results).toEqual(Array(7).fill({ topic: 'orders', partition: 0 }));
    expect(producer.stats.wal!.records).toBeGreaterThan(0);
    await producer.flush();
    expect(await host.contents('orders')).toEqual([range(1, 7)]);
    expect(producer.stats).toMatchObject({ sentBatches: 3, sentRecords: 7, duplicateParts: 0, poisonedParts: 0 });
    expect(producer.stats.wal).toMatchObject({ records: 0, committedThrough: 2 });
    await producer.close();
  });

  it('send() takes its records at the call: the caller may empty or reuse its array while an earlier send is admitted', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const { producer } = await host.start();
    const first = producer.send('orders', numbered(1, 1));
    const records = numbered(2, 3);
    const second = producer.send('orders', records);
    records.length = 0;
    expect(await first).toHaveLength(1);
    expect(await second).toEqual(Array(3).fill({ topic: 'orders', partition: 0 }));
    await producer.flush();
    expect(await host.contents('orders')).toEqual([range(1, 4)]);
    await producer.close();
  });

  it('splits a WAL batch by partition: keys by murmur2, each partition in put order', async () => {
    const host = await WalProducerHost.create({ orders: 3 });
    const { producer } = await host.start({ maxRecords: 10 });
    const results = await Promise.all(range(1, 30).map((n) => producer.put('orders', { key: `k${n % 5}`, value: String(n) })));
    await producer.flush();
    const contents = await host.contents('orders');
    expect(contents.flat().sort((a, b) => a - b)).toEqual(range(1, 30));
    for (const [partition, numbers] of contents.entries()) {
      expect(numbers).toEqual(results.flatMap((r, i) => (r.partition === partition ? [i + 1] : [])));
    }
    await producer.close();
  });

  it('after a crash between the ack and the commit, resends with the same producer id and sequences: no duplicate', async () => {
    const host = await WalProducerHost.create({ orders: 2 });
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    // The hook runs once every part of WAL batch 1 is in the broker's log: the process dies there.
    const afterAck = (batch: WalBatch): Promise<void> | undefined => (batch.sequence === 1 ? (holding(), never) : undefined);
    const first = await host.start({ afterAck });
    await first.producer.send('orders', numbered(1, 9, (n) => `k${n}`));
    void first.producer.flush().catch(() => undefined);
    await held;
    expect((await host.contents('orders')).flat()).toHaveLength(6);
    const producerId = first.producer.stats.producerId;
    first.crash();
    const second = await host.start();
    await second.producer.send('orders', numbered(10, 2, (n) => `k${n}`));
    await second.producer.flush();
    const contents = await host.contents('orders');
    expect(contents.flat().sort((a, b) => a - b)).toEqual(range(1, 11));
    expect(second.producer.stats.producerId).toBe(producerId);
    expect(second.producer.stats.duplicateParts).toBeGreaterThan(0);
    await second.producer.close();
  });

  it('keeps the partition chosen at put time for unkeyed records across a restart', async () => {
    const host = await WalProducerHost.create({ orders: 3 });
    const first = await host.start();
    const chosen = [];
    for (let n = 1; n <= 6; n++) chosen.push((await first.producer.put('orders', { value: String(n) })).partition);
    // Round-robin from a partition the producer draws at random (connect's Random).
    const start = chosen[0]!;
    expect(chosen).toEqual([0, 1, 2, 3, 4, 5].map((i) => (start + i) % 3));
    first.crash(); // nothing sent yet: the new process's partitioner draws its own start
    const second = await host.start();
    await second.producer.flush();
    const expected: number[][] = [[], [], []];
    for (let n = 1; n <= 6; n++) expected[chosen[n - 1]!]!.push(n);
    expect(await host.contents('orders')).toEqual(expected);
    await second.producer.close();
  });

  it('sets a poison part aside in a file, reports it once, and goes on with the rest', async () => {
    const host = await WalProducerHost.create({ orders: 1, doomed: 1 });
    const { producer } = await host.start({ maxRecords: 4 });
    const poisons: PoisonReport[] = [];
    producer.on('poison', (report) => poisons.push(report));
    await producer.send('doomed', numbered(1, 2));
    await producer.send('orders', numbered(3, 2));
    await host.broker.deleteTopic('doomed');
    await producer.send('orders', numbered(5, 4));
    await producer.flush();
    expect(await host.contents('orders')).toEqual([[3, 4, 5, 6, 7, 8]]);
    expect(poisons).toHaveLength(1);
    expect(poisons[0]).toMatchObject({ walBatch: 0, topic: 'doomed', partition: 0, error: { code: 'UNKNOWN_TOPIC' } });
    expect(producer.stats).toMatchObject({ poisonedParts: 1, poisonedRecords: 2, sentRecords: 6 });
    const file = JSON.parse(Buffer.from(await host.fs.readFile(poisons[0]!.file)).toString('utf8')) as { batch: string; error: { code: string } };
    expect(file.error.code).toBe('UNKNOWN_TOPIC');
    const setAside = decodeBatch(Buffer.from(file.batch, 'base64')).records.map((r) => Buffer.from(r.value!).toString('utf8'));
    expect(setAside).toEqual(['1', '2']);
    expect((await host.fs.readdir(PRODUCER_WAL_DIR)).filter((name) => name.startsWith('poison-'))).toEqual([poisons[0]!.file.split('/').at(-1)]);
    await producer.close();
  });

  it('names the poison file of a 249-character topic within the file-name limit, distinct from a topic sharing its prefix', async () => {
    const long = 'x'.repeat(249);
    const twin = `${'x'.repeat(248)}y`;
    const host = await WalProducerHost.create({ [long]: 1, [twin]: 1, orders: 1 });
    const { producer } = await host.start({ maxRecords: 10 });
    const poisons: PoisonReport[] = [];
    producer.on('poison', (report) => poisons.push(report));
    await producer.send(long, numbered(1, 1));
    await producer.send(twin, numbered(2, 1));
    await producer.send('orders', numbered(3, 1));
    await host.broker.deleteTopic(long);
    await host.broker.deleteTopic(twin);
    await producer.flush();
    expect(await host.contents('orders')).toEqual([[3]]);
    expect(poisons.map((p) => p.topic)).toEqual([long, twin]);
    const names = poisons.map((p) => p.file.split('/').at(-1)!);
    expect(new Set(names).size).toBe(2);
    // The atomic write's `.tmp` name must fit too; the MemoryFileSystem does not enforce 255 bytes.
    for (const name of names) expect(name.length).toBeLessThanOrEqual(120);
    expect(names.every((name) => name.startsWith('poison-00000000000000000000-0-xxx'))).toBe(true);
    const stored = JSON.parse(Buffer.from(await host.fs.readFile(poisons[1]!.file)).toString('utf8')) as { topic: string };
    expect(stored.topic).toBe(twin);
    expect((await host.fs.readdir(PRODUCER_WAL_DIR)).filter((name) => name.startsWith('poison-')).sort()).toEqual([...names].sort());
    await producer.close();
  });

  it('names a poison file after the whole topic up to 63 characters; from 64 after its first 47, ~ and 16 hex digits of its SHA-256', async () => {
    const whole = 'w'.repeat(63);
    const cut = 'c'.repeat(64);
    const host = await WalProducerHost.create({ [whole]: 1, [cut]: 1 });
    const { producer } = await host.start({ maxRecords: 10 });
    const poisons: PoisonReport[] = [];
    producer.on('poison', (report) => poisons.push(report));
    await producer.send(whole, numbered(1, 1));
    await producer.send(cut, numbered(2, 1));
    await host.broker.deleteTopic(whole);
    await host.broker.deleteTopic(cut);
    await producer.flush();
    const hash = createHash('sha256').update(cut).digest('hex').slice(0, 16);
    expect(poisons.map((p) => p.file)).toEqual([
      `${PRODUCER_WAL_DIR}/poison-00000000000000000000-0-${whole}.json`,
      `${PRODUCER_WAL_DIR}/poison-00000000000000000000-0-${'c'.repeat(47)}~${hash}.json`,
    ]);
    expect(poisons[1]!.topic).toBe(cut);
    await producer.close();
  });

  it('a send with a record over wal.maxBytes puts none of its records into the WAL and names the record', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const { producer } = await host.start({ maxBytes: 1024 });
    const refused = producer.send('orders', [{ value: '1' }, { value: 'x'.repeat(5000) }, { value: '2' }]);
    await expect(refused).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { record: 1, maxBytes: 1024 } });
    expect(producer.stats.wal!.records).toBe(0);
    await producer.send('orders', numbered(3, 1));
    await producer.flush();
    expect(await host.contents('orders')).toEqual([[3]]);
    await producer.close();
  });

  it("a send with a record over a discard-'new' topic's maxBytes is refused whole, naming the record: its neighbours are not poisoned with it", async () => {
    const host = await WalProducerHost.create({});
    await host.broker.createTopic('capped-wal', { partitions: 1, retention: { maxBytes: 4096, discard: 'new' } });
    const { producer } = await host.start({ maxBytes: 8192, maxRecords: 10 });
    const poisons: PoisonReport[] = [];
    producer.on('poison', (report) => poisons.push(report));
    const refused = producer.send('capped-wal', [{ value: '1' }, { value: 'x'.repeat(5000) }, { value: '2' }]);
    await expect(refused).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { record: 1, limit: 4096 - 61 } }); // a lone batch's header comes off the topic's maxBytes
    expect(producer.stats.wal!.records).toBe(0);
    await producer.send('capped-wal', numbered(1, 2)); // the caller's retry without the record that can never fit
    await producer.flush();
    expect(await host.contents('capped-wal')).toEqual([[1, 2]]);
    expect(poisons).toEqual([]);
    await producer.close();
  });

  it("onFull 'reject': a send that fits exactly is admitted whole, one a record over is refused whole, so a retry duplicates nothing", async () => {
    const topic = 'wal-full-boundary';
    const frameBytes = await walBytesPerRecord(topic);
    const perWal = Math.ceil(4096 / frameBytes); // walBytesMax is at least 4 KiB
    const host = await WalProducerHost.create({ [topic]: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve)); // no commit frees WAL space until released
    const { producer } = await host.start({ onFull: 'reject', walBytesMax: perWal * frameBytes, maxBytes: 1024, maxRecords: 1000, afterAck: () => held });
    await producer.send(topic, padded(1, perWal - 2));
    await expect(producer.send(topic, padded(perWal - 1, 3))).rejects.toMatchObject({ code: 'BUFFER_FULL' });
    expect(producer.stats.wal).toMatchObject({ records: perWal - 2, walBytes: (perWal - 2) * frameBytes });
    await producer.send(topic, padded(perWal - 1, 2)); // the caller's retry, without the record that did not fit
    expect(producer.stats.wal!.walBytes).toBe(perWal * frameBytes);
    await expect(producer.send(topic, padded(perWal + 1, 1))).rejects.toMatchObject({ code: 'BUFFER_FULL' });
    release();
    await producer.flush();
    expect(await host.contents(topic)).toEqual([range(1, perWal)]);
    await producer.close();
  });

  it('a send larger than walBytesMax is MESSAGE_TOO_LARGE at once, even when waiting for room, and puts nothing', async () => {
    const topic = 'wal-send-over-bound';
    const frameBytes = await walBytesPerRecord(topic);
    const perWal = Math.ceil(4096 / frameBytes);
    const host = await WalProducerHost.create({ [topic]: 1 });
    const { producer } = await host.start({ onFull: 'wait', walBytesMax: perWal * frameBytes, maxBytes: 1024, maxRecords: 1000 });
    const refused = producer.send(topic, padded(1, perWal + 1));
    await expect(refused).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { bytes: (perWal + 1) * frameBytes, walBytesMax: perWal * frameBytes } });
    expect(producer.stats.wal!.records).toBe(0);
    await producer.send(topic, padded(1, perWal));
    await producer.flush();
    expect(await host.contents(topic)).toEqual([range(1, perWal)]);
    await producer.close();
  });

  it('retries a retriable refusal with jittered exponential backoff until it succeeds', async () => {
    const host = await WalProducerHost.create({});
    // Full, and with no group nothing ever frees it (discard 'new' frees only what groups acked).
    await host.broker.createTopic('small', { partitions: 1, retention: { maxBytes: 8192, discard: 'new' } });
    await expect((async () => {
      for (let n = 0; n < 1000; n++) await host.broker.produce('small', [{ value: 'x' }]); // 8 KiB hold far fewer
    })()).rejects.toMatchObject({ code: 'TOPIC_FULL' });
    const { producer } = await host.start();
    const retries: RetryReport[] = [];
    producer.on('retrying', (report) => retries.push(report));
    await producer.send('small', numbered(1, 3));
    const flushed = producer.flush();
    while (retries.length < 6) {
      await new Promise((resolve) => setImmediate(resolve));
      await host.clock.advanceAsync(host.clock.nextTimerAtMs()! - host.clock.now());
    }
    expect(retries.map((r) => r.error.code)).toEqual(Array(6).fill('TOPIC_FULL'));
    expect(retries.map((r) => [r.topic, r.partition, r.attempt])).toEqual([0, 1, 2, 3, 4, 5].map((attempt) => ['small', 0, attempt]));
    // initialDelayMs 10, doubling, capped at 80, each within ±20 % jitter
    for (const { attempt, delayMs } of retries) {
      const base = Math.min(80, 10 * 2 ** attempt);
      expect(delayMs).toBeGreaterThanOrEqual(base * 0.8);
      expect(delayMs).toBeLessThanOrEqual(base * 1.2);
    }
    // close() abandons the part in flight: the records stay in the WAL for the next open
    await producer.close();
    await expect(flushed).rejects.toMatchObject({ code: 'CLOSED' });
    expect(producer.stats.wal!.records).toBe(3);
  });

  it('a broker that forgot the producer: a fresh producer id, sequences from 0, nothing lost', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const first = await host.start();
    await first.producer.send('orders', numbered(1, 3));
    await first.producer.flush();
    const oldId = first.producer.stats.producerId;
    await first.producer.send('orders', numbered(4, 2));
    await first.producer.close();
    await host.replaceBroker({ orders: 1 });
    const second = await host.start();
    await second.producer.flush();
    expect(await host.contents('orders')).toEqual([[4, 5]]);
    expect(second.producer.stats.producerId).not.toBeUndefined();
    expect(oldId).not.toBeUndefined();
    await second.producer.close();
  });

  it('a broker on a fresh data directory that issued our producer id again to another producer: a fresh id, nothing lost', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const first = await host.start();
    await first.producer.send('orders', numbered(1, 3));
    await first.producer.flush();
    await first.producer.send('orders', numbered(4, 3)); // left in the WAL, to be sent at sequences 3..5
    await first.producer.close();
    await host.replaceBroker({ orders: 1 });
    // Another producer connects first and gets producer id 0, our WAL's id, and sequences 0..5.
    const other = await connect(host.broker);
    const otherProducer = other.producer();
    await otherProducer.send('orders', numbered(100, 3));
    await otherProducer.send('orders', numbered(103, 3));
    const second = await host.start();
    await second.producer.flush();
    expect(await host.contents('orders')).toEqual([[100, 101, 102, 103, 104, 105, 4, 5, 6]]);
    expect(second.producer.stats.duplicateParts).toBe(0);
    const state = JSON.parse(Buffer.from(await host.fs.readFile(`${PRODUCER_WAL_DIR}/producer.json`)).toString('utf8')) as { incarnation: string };
    expect(state.incarnation).toBe(host.broker.incarnation);
    await second.producer.close();
    await other.close();
  });

  it('a producer.json from before incarnations resumes its id as before and learns the broker\'s incarnation', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const first = await host.start();
    await first.producer.send('orders', numbered(1, 3));
    await first.producer.flush();
    const oldId = first.producer.stats.producerId;
    await first.producer.send('orders', numbered(4, 3));
    await first.producer.close();
    const path = `${PRODUCER_WAL_DIR}/producer.json`;
    const { incarnation, ...legacy } = JSON.parse(Buffer.from(await host.fs.readFile(path)).toString('utf8')) as { incarnation: string };
    expect(incarnation).toBe(host.broker.incarnation);
    await host.fs.writeFile(path, new TextEncoder().encode(JSON.stringify(legacy)));
    const second = await host.start();
    await second.producer.flush();
    expect(await host.contents('orders')).toEqual([[1, 2, 3, 4, 5, 6]]);
    expect(second.producer.stats.producerId).toBe(oldId);
    expect(JSON.parse(Buffer.from(await host.fs.readFile(path)).toString('utf8'))).toMatchObject({ incarnation });
    await second.producer.close();
  });

  it('a partition that evicted the producer: that partition moves to a fresh producer id', async () => {
    const host = await WalProducerHost.create({ orders: 1 }, { producersPerPartitionMax: 1 });
    const { producer, client } = await host.start();
    await producer.send('orders', numbered(1, 3));
    await producer.flush();
    await client.producer().send('orders', [{ value: '100' }]); // another producer id evicts ours
    await producer.send('orders', numbered(4, 3));
    await producer.flush();
    expect(await host.contents('orders')).toEqual([[1, 2, 3, 100, 4, 5, 6]]);
    const state = JSON.parse(Buffer.from(await host.fs.readFile(`${PRODUCER_WAL_DIR}/producer.json`)).toString('utf8')) as { producerId: string; partitions: [string, number, string, number, number][] };
    expect(state.partitions[0]![2]).not.toBe(state.producerId);
    expect(state.partitions[0]![4]).toBe(3);
    await producer.close();
  });

  it('refuses a WAL option outside its limits with INVALID_CONFIG naming it under wal., as it names an unknown key there', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    for (const [wal, option] of [
      [{ maxRecords: 0 }, 'wal.maxRecords'],
      [{ maxAgeMs: -1 }, 'wal.maxAgeMs'],
      [{ walBytesMax: 1 }, 'wal.walBytesMax'],
      [{ onFull: 'drop' }, 'wal.onFull'],
      [{ fsync: 'sometimes' }, 'wal.fsync'],
      [{ fsync: { intervalMs: 0 } }, 'wal.fsync.intervalMs'],
      [{ fsync: { everyMs: 5 } }, 'wal.fsync.everyMs'],
    ] as const) {
      await expect(host.start(wal as never), option).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option } });
    }
    await host.broker.close();
  });

  it('refuses a WAL batch larger than the server takes in one request, and a second producer on the same directory', async () => {
    const host = await WalProducerHost.create({ orders: 1 }, { batchRecordsMax: 5 });
    await expect(host.start({ maxRecords: 6 })).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'wal.maxRecords' } });
    const small = await WalProducerHost.create({ orders: 1 }, { batchBytesMax: 64 * 1024 });
    await expect(small.start({ maxBytes: 64 * 1024 + 1 })).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'wal.maxBytes' } });
    await small.broker.close();
    const { producer } = await host.start();
    await producer.ready();
    const other = await host.start();
    const refused = await other.producer.ready().catch((error: BrookError) => error);
    expect(isBrookError(refused, 'LOCKED')).toBe(true);
    await expect(other.producer.send('orders', numbered(1, 1))).rejects.toMatchObject({ code: 'LOCKED' });
    await producer.close();
  });
});

describe('WAL producer on a real disk', () => {
  it('sets aside a poison part of a 249-character topic (a whole-topic file name would be ENAMETOOLONG) and goes on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'brook-wal-poison-'));
    const broker = await Broker.open({ storage: 'memory' });
    const client = await connect(broker);
    try {
      const long = 'x'.repeat(249);
      for (const topic of [long, 'orders']) await broker.createTopic(topic, { partitions: 1 });
      const producer = client.producer({ wal: { dir: join(dir, 'wal'), maxRecords: 10 } });
      const poisons: PoisonReport[] = [];
      producer.on('poison', (report) => poisons.push(report));
      await producer.send(long, numbered(1, 1));
      await broker.deleteTopic(long);
      await producer.send('orders', numbered(2, 1));
      await producer.flush();
      expect(poisons).toMatchObject([{ topic: long, error: { code: 'UNKNOWN_TOPIC' } }]);
      expect(await readdir(join(dir, 'wal'))).toContain(poisons[0]!.file.split('/').at(-1));
      expect(broker.describeTopic('orders').partitions[0]!.endOffset).toBe(1n);
      await producer.close();
    } finally {
      await client.close();
      await broker.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
