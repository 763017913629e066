/**
 * The client's option checks and partitioners, on both transports (describeOnEachTarget, as the
 * main conformance suite): misspelled option keys are refused wherever the client takes an
 * options object, and records land on the partitions Kafka's rules (and Broker.produce) give.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { partitionForKey } from '@brook/protocol';
import type { Client } from '@brook/client';
import { describeOnEachTarget, unique } from './fixtures/client-targets.js';

describeOnEachTarget('client options and partitioning', (suite) => {
  it("holds batches to the broker's batchBytesMax (announced at the handshake) when the producer's own is larger", async () => {
    const name = await suite.topic();
    const producer = suite.client.producer({ batchBytesMax: 8 * 1024 * 1024 });
    const value = new Uint8Array(1024);
    // 3 MiB in one send: batches of the producer's 8 MiB would each be refused MESSAGE_TOO_LARGE.
    const sent = await producer.send(name, Array.from({ length: 3 * 1024 }, () => ({ value })));
    expect(sent.at(-1)!.offset).toBe(BigInt(3 * 1024 - 1));
  });

  it('puts keyed records on the murmur2 partition, like Kafka', async () => {
    const name = await suite.topic(4);
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const sent = await suite.client.producer().send(name, keys.map((key) => ({ key, value: key })));
    expect(sent.map((result) => result.partition)).toEqual(keys.map((key) => partitionForKey(Buffer.from(key), 4)));
    for (const [i, result] of sent.entries()) {
      const [record] = await suite.target.broker.fetch({ topic: name, partition: result.partition, offset: result.offset, maxRecords: 1 });
      expect(Buffer.from(record!.value!).toString()).toBe(keys[i]);
    }
  });

  it('puts a key on the same partition whoever sends it (Broker.produce, the producer, the WAL producer), as Kafka would: strings as UTF-8, empty ones and bytes alike', async () => {
    const partitions = 12;
    const name = await suite.topic(partitions);
    // Kafka's own murmur2 of these keys (apache/kafka UtilsTest.testMurmur2), through its
    // default partitioner: toPositive(hash) % partitions.
    const kafka: [string, number][] = [['21', -973932308], ['foobar', -790332482], ['a-little-bit-longer-string', -1486304829]];
    const keys: (string | Uint8Array)[] = [...kafka.map(([key]) => key), 'é日本-ü', '', Uint8Array.from([0, 0xff, 0x80, 1, 2]), new Uint8Array(0)];
    // '' and the empty bytes: one key, so one partition.
    const expected = [
      ...kafka.map(([, hash]) => (hash & 0x7fffffff) % partitions),
      ...keys.slice(kafka.length).map((key) => partitionForKey(typeof key === 'string' ? Buffer.from(key, 'utf8') : key, partitions)),
    ];
    const records = keys.map((key) => ({ key, value: 'v' }));
    const dir = await mkdtemp(join(tmpdir(), 'brook-partitioning-'));
    try {
      const wal = suite.client.producer({ wal: { dir } });
      const senders: [string, () => Promise<{ partition: number }[]>][] = [
        ['Broker.produce', () => suite.target.broker.produce(name, records)],
        ['producer', () => suite.client.producer().send(name, records)],
        ['WAL producer', () => wal.send(name, records)],
      ];
      for (const [sender, send] of senders) expect((await send()).map((r) => r.partition), sender).toEqual(expected);
      await wal.flush();
      await wal.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // An empty key stays a key (Kafka's empty byte array), not null: it is hashed, not spread.
    const stored = await suite.target.broker.fetch({ topic: name, partition: expected[4]!, offset: 0n });
    expect(stored.filter((record) => record.key?.length === 0)).toHaveLength(2 * 3);
  });

  it('spreads records without a key round-robin record by record, as Broker.produce does, each producer from a random partition', async () => {
    const name = await suite.topic(3);
    const starts = [1, 2];
    const random = { next: () => 0.5, int: (max: number) => starts.shift()! % max };
    await using seeded = await suite.target.connect({ random });
    const unkeyed = (count: number) => Array.from({ length: count }, (_, i) => ({ value: `v${i}` }));
    const partitions = async (producer: ReturnType<Client['producer']>, count: number) => (await producer.send(name, unkeyed(count))).map((r) => r.partition);
    const producer = seeded.producer();
    expect(await partitions(producer, 4)).toEqual([1, 2, 0, 1]);
    expect(await partitions(producer, 2)).toEqual([2, 0]); // the next send carries on
    expect(await partitions(seeded.producer(), 1)).toEqual([2]); // a fresh producer draws its own start
    const inProcess = (await suite.target.broker.produce(name, unkeyed(4))).map((r) => r.partition);
    expect(inProcess.map((partition) => (partition - inProcess[0]! + 3) % 3)).toEqual([0, 1, 2, 0]);
  });

  it('refuses a misspelled option everywhere it takes an options object (INVALID_CONFIG naming it), before sending anything', async () => {
    const name = await suite.topic();
    const refused = (option: string) => expect.objectContaining({ code: 'INVALID_CONFIG', details: expect.objectContaining({ option }) });
    await expect(suite.target.connect({ bogus: 1 } as never)).rejects.toEqual(refused('bogus'));
    await expect(suite.target.connect({ reconnect: { attempts: 1 } } as never)).rejects.toEqual(refused('reconnect.attempts'));
    expect(() => suite.client.producer({ linger: 5 } as never)).toThrow(refused('linger'));
    expect(() => suite.client.producer({ linger: 5 } as never)).toThrow(/did you mean lingerMs\?/);
    expect(() => suite.client.producer({ retryBackoff: { maxDelay: 5 } } as never)).toThrow(refused('retryBackoff.maxDelay'));
    expect(() => suite.client.producer({ wal: { dir: '/nonexistent', maxRecord: 5 } } as never)).toThrow(refused('wal.maxRecord'));
    // The plain producer's options mean nothing to a WAL producer: refused rather than ignored.
    expect(() => suite.client.producer({ wal: { dir: '/nonexistent' }, lingerMs: 5 } as never)).toThrow(refused('lingerMs'));
    await expect(suite.client.producer().send(name, [{ value: 'x' }], { sginal: undefined } as never)).rejects.toEqual(refused('sginal'));
    await expect(suite.client.subscribe({ topic: name, grop: 'g' } as never, () => undefined)).rejects.toEqual(refused('grop'));
    await expect(suite.client.subscribe({ topic: name, backoff: { initialDelayMs: 5 } } as never, () => undefined)).rejects.toEqual(refused('backoff.initialDelayMs'));
    expect(() => suite.client.consume({ topic: name, maxInflight: 5 } as never)).toThrow(refused('maxInflight'));
    await expect(suite.client.admin.createTopic(unique('t'), { partition: 3 } as never)).rejects.toEqual(refused('partition'));
    await expect(suite.client.admin.createTopic(unique('t'), { retention: { maxAge: 5 } } as never)).rejects.toEqual(refused('retention.maxAge'));
    await expect(suite.client.admin.redrive(name, { max: 5 } as never)).rejects.toEqual(refused('max'));
    await expect(suite.client.fetch({ topic: name, partition: 0, offset: 0n, maxRecord: 5 } as never)).rejects.toEqual(refused('maxRecord'));
    expect((await suite.client.admin.describeTopic(name)).partitions[0]!.endOffset).toBe(0n);
    expect((await suite.client.admin.listGroups(name))).toEqual([]);
  });

  it("names its group members by connect()'s `name` (docs/client.md: \"the name describeGroup gives the members\"), unless a subscribe names its own", async () => {
    const topic = await suite.topic();
    const group = unique('g');
    const named = await suite.client.subscribe({ topic, group }, () => undefined);
    const labelled = await suite.client.subscribe({ topic, group, name: 'audit-worker' }, () => undefined);
    const members = (await suite.client.admin.describeGroup(topic, group)).members;
    expect(members.map((member) => member.name).sort()).toEqual(['audit-worker', 'conformance']);
    await named.close();
    await labelled.close();
  });
});
