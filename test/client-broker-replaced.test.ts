/**
 * A producer whose broker is replaced, while it keeps running, by one on a fresh data directory
 * (a dev server restarted in memory or on a temp dir): the new broker issues the same producer
 * ids again, from 0, to other producers. The old producer's resend must not be answered with
 * another producer's batch as its duplicate. Sockets are real; client time is a VirtualClock.
 */
import { afterEach, expect, it } from 'vitest';
import { MemoryFileSystem, VirtualClock } from '@brook/protocol';
import { Broker } from '@brook/broker';
import { connect, type Client } from '@brook/client';
import { FaultProxy } from './fixtures/fault-proxy.js';
import { unique } from './fixtures/client-targets.js';
import { reusablePort } from './fixtures/reusable-port.js';

const BACKOFF_MS = 10;
const closing: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

/** A memory broker listening on `port` (a reusablePort: the replacement takes it over); `seed` tells its data directory's incarnation from another's. */
async function serve(seed: number, port: number): Promise<{ broker: Broker; port: number }> {
  const broker = await Broker.open({ storage: 'memory', seed });
  const server = await broker.listen({ port });
  closing.push(async () => {
    await server.close();
    await broker.close();
  });
  return { broker, port: server.port };
}

/**
 * The replacement: a broker on a fresh data directory on `port`, where another producer gets
 * producer id 0 first and writes b1..b6 at sequences 0..5.
 */
async function freshBrokerTakenFirst(port: number, topic: string): Promise<{ broker: Broker; port: number }> {
  const fresh = await serve(2, port);
  await fresh.broker.createTopic(topic);
  const other: Client = await connect(`ws://127.0.0.1:${fresh.port}`);
  closing.push(async () => other.close());
  const otherProducer = other.producer();
  await otherProducer.send(topic, [{ value: 'b1' }, { value: 'b2' }, { value: 'b3' }]);
  await otherProducer.send(topic, [{ value: 'b4' }, { value: 'b5' }, { value: 'b6' }]);
  return fresh;
}

function values(records: { value: Uint8Array | null }[]): string[] {
  return records.map((record) => Buffer.from(record.value!).toString());
}

it('a batch whose answer was lost is appended by a broker on a fresh data directory, not answered with the batch of the producer that got its id there', async () => {
  const topic = unique('replaced');
  const old = await serve(1, await reusablePort());
  await old.broker.createTopic(topic);
  const proxy = await FaultProxy.start(old.port);
  closing.push(() => proxy.close());
  const clock = new VirtualClock({ startMs: Date.now() });
  const client = await connect(proxy.url, { clock, reconnect: { initialDelayMs: BACKOFF_MS, maxDelayMs: BACKOFF_MS, jitter: 0 } });
  closing.push(async () => client.close());
  const producer = client.producer();
  await producer.send(topic, [{ value: 'a1' }, { value: 'a2' }, { value: 'a3' }]); // producer id 0, sequences 0..2
  // The next batch (sequences 3..5) reaches the old broker's log, and its answer is lost with the broker.
  const down = new Promise((resolve) => client.once('disconnected', resolve));
  old.broker.once('produced', () => proxy.cut());
  const sent = producer.send(topic, [{ value: 'a4' }, { value: 'a5' }, { value: 'a6' }]);
  await down;
  await closing.shift()!();

  const fresh = await freshBrokerTakenFirst(old.port, topic);

  const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
  await clock.advanceAsync(BACKOFF_MS);
  await reconnected;
  const offsets = (await sent).map(({ offset }) => offset);
  expect(values(await fresh.broker.fetch({ topic, partition: 0, offset: 0n }))).toEqual(['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'a4', 'a5', 'a6']);
  expect(offsets).toEqual([6n, 7n, 8n]);
  // Later sends go on under an id of the fresh directory.
  await producer.send(topic, [{ value: 'a7' }]);
  expect(values(await fresh.broker.fetch({ topic, partition: 0, offset: 9n }))).toEqual(['a7']);
});

it('a WAL producer whose broker is replaced while it runs moves every id to the fresh data directory\'s, and says so in producer.json', async () => {
  const topic = unique('replaced-wal');
  const old = await serve(1, await reusablePort());
  await old.broker.createTopic(topic);
  const clock = new VirtualClock({ startMs: Date.now() });
  const client = await connect(`ws://127.0.0.1:${old.port}`, { clock, reconnect: { initialDelayMs: BACKOFF_MS, maxDelayMs: BACKOFF_MS, jitter: 0 } });
  closing.push(async () => client.close());
  const fs = new MemoryFileSystem();
  const producer = client.producer({ wal: { dir: '/wal', fs, clock, maxRecords: 3 } });
  closing.push(() => producer.close());
  await producer.send(topic, [{ value: 'a1' }, { value: 'a2' }, { value: 'a3' }]);
  await producer.flush(); // producer id 0, sequences 0..2; the next batch goes at 3..5
  const down = new Promise((resolve) => client.once('disconnected', resolve));
  await closing.shift()!();
  await down;

  const fresh = await freshBrokerTakenFirst(old.port, topic);

  const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
  await clock.advanceAsync(BACKOFF_MS);
  await reconnected;
  await producer.send(topic, [{ value: 'a4' }, { value: 'a5' }, { value: 'a6' }]);
  await producer.flush();
  expect(values(await fresh.broker.fetch({ topic, partition: 0, offset: 0n }))).toEqual(['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'a4', 'a5', 'a6']);
  expect(producer.stats.duplicateParts).toBe(0);
  const state = JSON.parse(Buffer.from(await fs.readFile('/wal/producer.json')).toString()) as { incarnation: string; producerId: string; partitions: unknown[][] };
  // One incarnation for every id in the file: the fresh directory's, whose ids replaced the old ones.
  expect(state.incarnation).toBe(fresh.broker.incarnation);
  expect(state.partitions).toEqual([[topic, 0, state.producerId, 0, 3]]);
});
