import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, VirtualClock, encodeBatch, partitionForKey } from '@brook/protocol';
import { Broker, TOPIC_NAME_LENGTH_MAX, type BrokerOptions } from './index.js';
import { memoryBroker } from './memory-broker.test-support.js';

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

describe('Broker topics', () => {
  it('creates, lists and describes topics', async () => {
    const broker = await memoryBroker();
    await broker.createTopic('orders', { partitions: 3 });
    await broker.createTopic('audit');
    expect(broker.listTopics()).toEqual(['audit', 'orders']);
    expect(broker.describeTopic('orders').partitions.map((p) => [p.partition, p.startOffset, p.endOffset])).toEqual([
      [0, 0n, 0n], [1, 0n, 0n], [2, 0n, 0n],
    ]);
    await expect(broker.createTopic('orders')).rejects.toMatchObject({ code: 'TOPIC_EXISTS' });
    expect(() => broker.describeTopic('order')).toThrow(expect.objectContaining({ code: 'UNKNOWN_TOPIC', details: { topic: 'order' } }));
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(TOPIC_NAME_LENGTH_MAX + 1)],
    ['a path', '../etc'],
    ['"."', '.'],
    ['".."', '..'],
    ['a space', 'my topic'],
    ['a slash', 'a/b'],
  ])('rejects a topic name that is %s with INVALID_TOPIC_NAME', async (_what, name) => {
    const broker = await memoryBroker();
    await expect(broker.createTopic(name)).rejects.toMatchObject({ code: 'INVALID_TOPIC_NAME' });
    expect(broker.listTopics()).toEqual([]);
  });

  it('a dead-letter topic name that is no string (a bigint, a symbol) is INVALID_TOPIC_NAME, not a TypeError from showing it', async () => {
    const broker = await memoryBroker();
    await broker.createTopic('dlq-name-kinds');
    for (const deadLetterTopic of [10n, Symbol('dlq'), { toJSON: () => 10n }]) {
      const subscribing = broker.subscribe({ topic: 'dlq-name-kinds', group: 'g', deadLetterTopic: deadLetterTopic as never }, () => undefined);
      await expect(subscribing).rejects.toMatchObject({ code: 'INVALID_TOPIC_NAME', details: {} });
    }
    expect(broker.listGroups('dlq-name-kinds')).toEqual([]);
  });

  it('accepts a topic name of exactly the maximum length, with every allowed character class', async () => {
    const broker = await memoryBroker();
    const name = 'Aa0._-'.padEnd(TOPIC_NAME_LENGTH_MAX, 'z');
    await broker.createTopic(name);
    expect(broker.listTopics()).toEqual([name]);
  });

  it('refuses a misspelled option anywhere in the in-process API with INVALID_CONFIG naming it (and the closest name)', async () => {
    await expect(memoryBroker({ segmentBytes: 4096 } as BrokerOptions))
      .rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'segmentBytes', suggestion: 'segmentBytesMax' } });
    const broker = await memoryBroker();
    await expect(broker.createTopic('t', { partition: 3 } as never)).rejects.toMatchObject({ details: { option: 'partition', suggestion: 'partitions' } });
    await expect(broker.createTopic('t', { retention: { maxbytes: 10 } } as never)).rejects.toMatchObject({ details: { option: 'retention.maxbytes', suggestion: 'retention.maxBytes' } });
    expect(broker.listTopics()).toEqual([]);
    await broker.createTopic('t');
    await expect(broker.subscribe({ topic: 't', group: 'g', maxInflight: 5 } as never, () => undefined))
      .rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'maxInflight', suggestion: 'maxInFlight' } });
    await expect(broker.subscribe({ topic: 't', group: 'g', backoff: { initialDelayMs: 5 } } as never, () => undefined))
      .rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'backoff.initialDelayMs' } });
    await expect(broker.listen({ prot: 0 } as never)).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'prot', suggestion: 'port' } });
    expect(broker.listGroups('t')).toEqual([]);
  });

  it('refuses an option or field value that String() or JSON.stringify throws on with its own code, not the TypeError building its message threw', async () => {
    const broker = await memoryBroker();
    const noPrototype = Object.create(null) as never;
    await expect(broker.createTopic('t', { retention: { maxBytes: 10, discard: 5n } } as never)).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'retention.discard' } });
    await expect(broker.createTopic('t', { partitions: noPrototype })).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'partitions' } });
    await expect(broker.createTopic('t', { retention: { maxAgeMs: noPrototype } })).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'retention.maxAgeMs' } });
    expect(broker.listTopics()).toEqual([]);
    await broker.createTopic('t');
    await expect(broker.fetch({ topic: 't', partition: 0, offset: 0n, maxRecords: noPrototype })).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { option: 'maxRecords' } });
    await expect(broker.produce('t', [{ value: 'v', timestamp: noPrototype }])).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(broker.produce('t', [{ value: 'v', partition: noPrototype }])).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(broker.initProducer({ producerId: noPrototype })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(broker.describeTopic('t').partitions[0]!.endOffset).toBe(0n);
  });

  it('validates broker options at open with INVALID_CONFIG', async () => {
    await expect(Broker.open({})).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(memoryBroker({ fsync: 'sometimes' as never })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(memoryBroker({ fsync: { intervalMs: 0 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    // A key beside intervalMs would silently run without it; a misspelt one gets its suggestion.
    await expect(memoryBroker({ fsync: { intervalMs: 10, everyMs: 5 } as never })).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'fsync.everyMs' } });
    await expect(memoryBroker({ fsync: { intervalMS: 10 } as never })).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'fsync.intervalMS', suggestion: 'fsync.intervalMs' } });
    // Every limit's own range: config/limits.test.ts.
  });
});

describe('Broker produce and fetch', () => {
  it('partitions keyed records with murmur2 like Kafka, and keeps per-key order', async () => {
    const broker = await memoryBroker();
    await broker.createTopic('orders', { partitions: 4 });
    const records = Array.from({ length: 40 }, (_, i) => ({ key: `user-${i % 5}`, value: `v${i}` }));
    const results = await broker.produce('orders', records);
    results.forEach((result, i) => {
      expect(result.partition).toBe(partitionForKey(utf8.encode(records[i]!.key), 4));
    });
    const partition = results[0]!.partition;
    const fetched = await broker.fetch({ topic: 'orders', partition, offset: 0n });
    const user0 = fetched.filter((r) => text(r.key) === 'user-0').map((r) => text(r.value));
    expect(user0).toEqual(['v0', 'v5', 'v10', 'v15', 'v20', 'v25', 'v30', 'v35']);
  });

  it('spreads null-key records round-robin and honours an explicit partition', async () => {
    const broker = await memoryBroker();
    await broker.createTopic('t', { partitions: 3 });
    const results = await broker.produce('t', [{ value: 'a' }, { value: 'b' }, { value: 'c' }, { value: 'd', partition: 2 }]);
    expect(results.map((r) => r.partition)).toEqual([0, 1, 2, 2]);
    expect(results.map((r) => r.offset)).toEqual([0n, 0n, 0n, 1n]);
    await expect(broker.produce('t', [{ value: 'e', partition: 3 }])).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION', details: { topic: 't', partition: 3, partitions: 3 } });
  });

  it('round-trips keys, values, headers and timestamps; defaults the timestamp to the clock', async () => {
    const clock = new VirtualClock({ startMs: 1_234_567 });
    const broker = await memoryBroker({ clock });
    await broker.createTopic('t');
    await broker.produce('t', [
      { key: null, value: null },
      { key: new Uint8Array([0, 255]), value: 'é', headers: { trace: 'abc', none: null }, timestamp: 42 },
    ]);
    const [first, second] = await broker.fetch({ topic: 't', partition: 0, offset: 0n });
    expect(first).toEqual({ offset: 0n, key: null, value: null, headers: [], timestamp: 1_234_567 });
    expect([...second!.key!]).toEqual([0, 255]);
    expect(text(second!.value)).toBe('é');
    expect(second!.headers.map((h) => [h.key, text(h.value)])).toEqual([['trace', 'abc'], ['none', null]]);
    expect(second!.timestamp).toBe(42);
  });

  it('encodes strings as UTF-8 exactly like TextEncoder, lone surrogates included', async () => {
    const broker = await memoryBroker();
    await broker.createTopic('t');
    const strings = ['', 'ascii', 'é€𝄞', 'lone \uD800 high', 'lone \uDC00 low', 'x'.repeat(5000)];
    await broker.produce('t', strings.map((s) => ({ key: s, value: s, headers: { h: s } })));
    const fetched = await broker.fetch({ topic: 't', partition: 0, offset: 0n });
    fetched.forEach((record, i) => {
      const expected = [...utf8.encode(strings[i]!)];
      expect([[...record.key!], [...record.value!], [...record.headers[0]!.value!]]).toEqual([expected, expected, expected]);
    });
  });

  it('rejects bad produce requests with a code and writes nothing', async () => {
    const broker = await memoryBroker();
    await broker.createTopic('t', { partitions: 2 });
    await expect(broker.produce('nope', [{ value: 'x' }])).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(broker.produce('t', [])).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { topic: 't' } });
    await expect(broker.produce('t', [{ value: 'x', partition: 2 }])).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION' });
    await expect(broker.produce('t', [{ value: 12 as never }])).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { record: 0 } });
    await expect(broker.produce('t', [{ value: 'ok' }, { value: 'x', timestamp: -1 }])).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { record: 1 } });
    expect(broker.describeTopic('t').partitions.map((p) => p.endOffset)).toEqual([0n, 0n]);
  });

  it('holds a batch to batchBytesMax: exactly the limit passes, one byte more is MESSAGE_TOO_LARGE', async () => {
    const batchBytesMax = 4096;
    const broker = await memoryBroker({ batchBytesMax });
    await broker.createTopic('t');
    // The value length that makes a one-record batch exactly batchBytesMax bytes.
    const sizeOf = (n: number) => encodeBatch([{ key: null, value: new Uint8Array(n), timestamp: 0 }]).length;
    let n = 0;
    while (sizeOf(n + 1) <= batchBytesMax) n += 1;
    expect(sizeOf(n)).toBe(batchBytesMax);
    await expect(broker.produce('t', [{ value: 'v'.repeat(n), timestamp: 0 }])).resolves.toHaveLength(1);
    const error = await broker.produce('t', [{ value: 'v'.repeat(n + 1), timestamp: 0 }]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { bytes: batchBytesMax + 1, limit: batchBytesMax } });
    expect(broker.describeTopic('t').partitions[0]!.endOffset).toBe(1n);
  });

  it('holds a produce to batchRecordsMax records per partition', async () => {
    const broker = await memoryBroker({ batchRecordsMax: 10 });
    await broker.createTopic('t');
    await expect(broker.produce('t', Array.from({ length: 10 }, () => ({ value: 'x' })))).resolves.toHaveLength(10);
    await expect(broker.produce('t', Array.from({ length: 11 }, () => ({ value: 'x' }))))
      .rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { records: 11, limit: 10 } });
    expect(broker.describeTopic('t').partitions[0]!.endOffset).toBe(10n);
  });

  // A produce is checked whole before any partition is appended to: a refused one writes nothing,
  // even to the partitions whose share was within the limits.
  it.each([
    ['batchRecordsMax', { batchRecordsMax: 2 }, [{ value: 'a', partition: 0 }, ...Array.from({ length: 3 }, () => ({ value: 'b', partition: 1 }))]],
    ['batchBytesMax', { batchBytesMax: 1024 }, [{ value: 'a', partition: 0 }, { value: 'b'.repeat(1024), partition: 1 }]],
  ])('a produce over %s in one partition appends to none', async (_limit, options, records) => {
    const broker = await memoryBroker(options);
    await broker.createTopic('split', { partitions: 2 });
    await expect(broker.produce('split', records)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { partition: 1 } });
    expect(broker.describeTopic('split').partitions.map((p) => p.endOffset)).toEqual([0n, 0n]);
  });

  it('offsetForTimestamp takes integer milliseconds: NaN, Infinity and fractions are INVALID_REQUEST', async () => {
    const broker = await memoryBroker();
    await broker.createTopic('t');
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
      await expect(async () => broker.offsetForTimestamp('t', 0, bad)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'timestampMs' } });
    }
    await expect(broker.offsetForTimestamp('t', 0, 0)).resolves.toBe(0n);
  });

  it('offsetForTimestamp and produceBatch take a partition as fetch does: not a non-negative integer is INVALID_REQUEST naming it', async () => {
    const broker = await memoryBroker();
    await broker.createTopic('t', { partitions: 2 });
    const batch = encodeBatch([{ key: null, value: new Uint8Array([1]), headers: [], timestamp: 0 }], { baseOffset: 0n });
    for (const bad of [-1, 1.5, '1', null]) {
      const partition = bad as number;
      await expect(async () => broker.offsetForTimestamp('t', partition, 0), String(bad)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'partition' } });
      await expect(broker.produceBatch({ topic: 't', partition, batch }), String(bad)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'partition' } });
    }
    expect(broker.describeTopic('t').partitions.map((p) => p.endOffset)).toEqual([0n, 0n]);
    await expect(broker.offsetForTimestamp('t', 2, 0)).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION' });
  });

  it('fetches at most maxRecords from any offset, and checks the fetch limits', async () => {
    const broker = await memoryBroker({ fetchRecordsMax: 50 });
    await broker.createTopic('t');
    for (let i = 0; i < 10; i++) await broker.produce('t', Array.from({ length: 10 }, (_, j) => ({ value: `${i * 10 + j}` })));
    const page = await broker.fetch({ topic: 't', partition: 0, offset: 35n, maxRecords: 20 });
    expect(page.map((r) => text(r.value))).toEqual(Array.from({ length: 20 }, (_, i) => `${35 + i}`));
    expect(await broker.fetch({ topic: 't', partition: 0, offset: 0n })).toHaveLength(50);
    await expect(broker.fetch({ topic: 't', partition: 0, offset: 0n, maxRecords: 51 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(broker.fetch({ topic: 't', partition: 0, offset: 0n, maxRecords: 0 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('holds a fetch to [1, fetchBytesMax] log bytes: batches that fill maxBytes exactly are returned, and always at least one', async () => {
    const fetchBytesMax = 8192;
    const broker = await memoryBroker({ fetchBytesMax });
    await broker.createTopic('fetch-bytes');
    const value = new Uint8Array(3000);
    for (let i = 0; i < 3; i++) await broker.produce('fetch-bytes', [{ value, timestamp: 0 }]);
    const batchBytes = encodeBatch([{ key: null, value, timestamp: 0 }]).length;
    const read = async (maxBytes?: number) => (await broker.fetch({ topic: 'fetch-bytes', partition: 0, offset: 0n, maxBytes })).length;
    expect(await Promise.all([read(), read(fetchBytesMax), read(2 * batchBytes), read(2 * batchBytes - 1), read(1)])).toEqual([2, 2, 2, 1, 1]);
    for (const bad of [0, fetchBytesMax + 1]) {
      await expect(read(bad)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { option: 'maxBytes', max: fetchBytesMax } });
    }
  });
});

describe('Broker close', () => {
  it('emits closing once, as close() begins: calls in the listener already throw CLOSED', async () => {
    const broker = await memoryBroker();
    const heard: unknown[] = [];
    broker.on('closing', (event) => {
      heard.push(event);
      expect(() => broker.listTopics()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    });
    const closed = broker.close();
    expect(heard).toEqual([{ dataDir: broker.dataDir }]);
    await Promise.all([closed, broker.close()]);
    expect(heard).toHaveLength(1);
  });

  it('closes all the same when a closing listener throws, and close() rejects with what it threw', async () => {
    const fs = new MemoryFileSystem();
    const broker = await Broker.open({ dataDir: '/data', fs });
    await broker.createTopic('kept');
    const thrown = new Error('a listener that throws');
    broker.on('closing', () => {
      throw thrown;
    });
    await expect(broker.close()).rejects.toBe(thrown);
    // Its files closed, its lock released and its clean-shutdown marker written: it opens again, clean.
    const reopened = await Broker.open({ dataDir: '/data', fs });
    expect(reopened.openedClean).toBe(true);
    expect(reopened.listTopics()).toEqual(['kept']);
    await reopened.close();
  });
});
