/**
 * A disk that really fills up: a broker on the node file system with its data dir on a 2 MiB
 * tmpfs, so ENOSPC comes from the kernel (MemoryFileSystem's injected failures are the unit
 * tests'). What a producer is told, that nothing acknowledged is lost, that no log or group
 * journal fails for good over it, and that producing and consuming resume once space is freed,
 * without a restart (docs/storage.md, "A full disk").
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, type TestContext } from 'vitest';
import { Broker, type BrookServer } from '@brook/broker';
import { connect, type Client } from '@brook/client';
import { fillUp, mountTmpfs, type Tmpfs } from './fixtures/tmpfs.js';

const DISK_BYTES = 2 * 1024 * 1024;
let disk: Tmpfs;
/** Closed in reverse before the unmount, whether the test passed or not. */
let opened: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  disk = mountTmpfs(DISK_BYTES);
  opened = [];
});

afterEach(async () => {
  for (const close of opened.reverse()) await close().catch(() => undefined);
  disk.unmount();
});

/** The data dir on the tmpfs, or the test skips saying why there is none. */
function dataDirOrSkip(context: TestContext): string {
  if (disk.dir === undefined) context.skip(disk.skipReason);
  return join(disk.dir!, 'data');
}

async function openBroker(dataDir: string): Promise<Broker> {
  const broker = await Broker.open({ dataDir, fsync: 'always' });
  opened.push(() => broker.close());
  return broker;
}

async function serve(broker: Broker): Promise<{ server: BrookServer; client: Client; healthz: () => Promise<number> }> {
  const server = await broker.listen({ port: 0 });
  opened.push(() => server.close());
  const client = await connect(server.url);
  opened.push(() => client.close());
  return { server, client, healthz: async () => (await fetch(`http://127.0.0.1:${server.port}/healthz`)).status };
}

const ENOSPC = { code: 'IO_ERROR', retriable: true, details: { errno: 'ENOSPC' }, message: expect.stringMatching(/ENOSPC \(no space left on the device\)/) };

it('a full disk: produces are refused IO_ERROR ENOSPC (retriable), nothing acknowledged is lost, no log fails, and producing resumes once a topic is deleted', async (context) => {
  const dataDir = dataDirOrSkip(context);
  const broker = await openBroker(dataDir);
  const { client, healthz } = await serve(broker);
  await broker.createTopic('ballast');
  await broker.produce('ballast', Array.from({ length: 150 }, () => ({ value: 'b'.repeat(1024) })));
  // Small segments: rolls, and the seals of full segments, happen on the full disk too.
  await broker.createTopic('full', { partitions: 2, segmentBytesMax: 16 * 1024 });
  const acked: { partition: number; offset: bigint; value: string }[] = [];
  let refused: unknown;
  for (let i = 0; refused === undefined; i++) {
    const value = `r${i}`.padEnd(1024, '.');
    await broker.produce('full', [{ value, partition: i % 2 }]).then(([at]) => acked.push({ ...at!, value }), (error: unknown) => (refused = error));
  }
  expect(refused).toMatchObject(ENOSPC);
  fillUp(join(disk.dir!, 'filler')); // the pages the last refused batch did not need
  for (const partition of [0, 1]) {
    // Larger than what is left of a segment: it rolls, and the full segment's seal cannot write its index files.
    await expect(broker.produce('full', [{ value: 'x'.repeat(15 * 1024), partition }])).rejects.toMatchObject(ENOSPC);
  }
  const send = client.producer({ deliveryTimeoutMs: 1000 }).send('full', [{ value: 'over websocket' }]);
  await expect(send, 'the client retries a retriable refusal until deliveryTimeoutMs').rejects.toMatchObject({ code: 'TIMEOUT', details: { lastError: 'IO_ERROR' } });
  expect(broker.failedLogs(), 'a refused write fails nothing for good').toEqual([]);
  expect(await healthz()).toBe(200);

  await broker.deleteTopic('ballast');
  for (const partition of [0, 1]) {
    const value = `after-${partition}`;
    const [at] = await broker.produce('full', [{ value, partition }]);
    acked.push({ ...at!, value });
  }
  await client.producer().send('full', [{ value: 'over websocket, after' }]);
  await broker.close();

  const reopened = await openBroker(dataDir);
  expect(reopened.openedClean).toBe(true);
  for (const { partition, offset, value } of acked) {
    const [record] = await reopened.fetch({ topic: 'full', partition, offset, maxRecords: 1 });
    expect(record && new TextDecoder().decode(record.value!), `offset ${offset} of partition ${partition}`).toBe(value);
  }
}, 20_000);

it('a full disk: a group whose journal cannot write waits, says why in describeGroup, and delivers everything once space is freed, without a restart', async (context) => {
  const dataDir = dataDirOrSkip(context);
  const broker = await openBroker(dataDir);
  const { client, healthz } = await serve(broker);
  await broker.createTopic('waiting');
  // A short lease: deliveries whose attempts could not be journaled go out again when it ends.
  const settings = { topic: 'waiting', group: 'g', ackTimeoutMs: 500 };
  await (await client.subscribe(settings, async () => undefined)).close();
  await broker.produce('waiting', Array.from({ length: 300 }, (_, i) => ({ value: `m${i}` })));
  const filler = join(disk.dir!, 'filler');
  fillUp(filler);
  const handled = new Set<string>();
  const subscription = await client.subscribe(settings, async (message) => void handled.add(message.text()!));
  opened.push(() => subscription.close());
  await expect.poll(() => broker.describeGroup('waiting', 'g').lastError, { timeout: 5000 }).toMatch(/IO_ERROR.*ENOSPC/);
  expect(broker.failedLogs(), 'the journal refused a write: it has not failed').toEqual([]);
  expect(await healthz()).toBe(200);

  await rm(filler);
  await expect.poll(() => broker.describeGroup('waiting', 'g').lag, { timeout: 10_000 }).toBe(0n);
  expect(handled.size).toBe(300);
  await subscription.close();
  await broker.close();
  const reopened = await openBroker(dataDir);
  expect(reopened.describeGroup('waiting', 'g').partitions[0]!.ackFloor).toBe(300n);
}, 20_000);

it('a broker closed on a full disk opens again on it (its producer snapshots and index files are only shortcuts), so that a topic can be deleted to free space', async (context) => {
  const dataDir = dataDirOrSkip(context);
  const broker = await openBroker(dataDir);
  const { client } = await serve(broker);
  await broker.createTopic('kept', { partitions: 2, segmentBytesMax: 16 * 1024 });
  await broker.createTopic('ballast');
  await client.producer().send('kept', Array.from({ length: 40 }, (_, i) => ({ value: `k${i}`.padEnd(1024, '.') })));
  await broker.produce('ballast', Array.from({ length: 100 }, () => ({ value: 'b'.repeat(1024) })));
  await (await client.subscribe({ topic: 'kept', group: 'g' }, async () => undefined)).close();
  fillUp(join(disk.dir!, 'filler'));
  await client.close();
  await broker.close();

  const reopened = await openBroker(dataDir);
  expect(reopened.listTopics().sort()).toEqual(['ballast', 'kept']);
  expect(reopened.describeTopic('kept').partitions.reduce((sum, p) => sum + p.endOffset, 0n)).toBe(40n);
  await reopened.deleteTopic('ballast');
  await reopened.produce('kept', [{ value: 'room again' }]);
}, 20_000);

it('a full disk under a WAL producer: it stops (IO_ERROR, its error event) until reopened, and the reopened one sends every record its WAL took, once', async (context) => {
  const walDir = join(dataDirOrSkip(context), '..', 'wal');
  const broker = await Broker.open({ storage: 'memory' }); // the broker's disk is not the one that fills
  opened.push(() => broker.close());
  await broker.createTopic('from-wal');
  const client = await connect(broker);
  opened.push(() => client.close());
  const walOptions = { wal: { dir: walDir, maxRecords: 50, maxAgeMs: 20 } };
  let producer = client.producer(walOptions);
  opened.push(() => producer.close());
  const stopped = new Promise((resolve) => producer.on('error', resolve));
  const taken: string[] = [];
  for (let i = 0; i < 100; i++) await producer.send('from-wal', [{ value: `a${i}` }]).then(() => taken.push(`a${i}`));
  await producer.flush();
  fillUp(join(disk.dir!, 'filler'));
  let refused: unknown;
  for (let i = 0; refused === undefined; i++) {
    const value = `b${i}`.padEnd(200, '.');
    await producer.send('from-wal', [{ value }]).then(() => taken.push(value), (error: unknown) => (refused = error));
  }
  expect(refused).toMatchObject({ code: 'IO_ERROR', message: expect.stringMatching(/must be reopened.*ENOSPC/) });
  expect(await stopped).toMatchObject({ code: 'IO_ERROR', details: { errno: 'ENOSPC' } });
  await rm(join(disk.dir!, 'filler'));
  await expect(producer.send('from-wal', [{ value: 'c' }]), 'room again, but a failed WAL is reopened, not retried').rejects.toMatchObject({ code: 'IO_ERROR' });
  await producer.close();

  producer = client.producer(walOptions);
  await producer.send('from-wal', [{ value: 'after reopen' }]);
  taken.push('after reopen');
  await producer.flush();
  const records = await broker.fetch({ topic: 'from-wal', partition: 0, offset: 0n, maxRecords: 10_000 });
  expect(records.map((record) => new TextDecoder().decode(record.value!)), 'every record once, in order').toEqual(taken);
}, 20_000);

it('a new data directory on a full disk: the open is refused IO_ERROR ENOSPC and leaves no lock directory behind', async (context) => {
  const dataDir = dataDirOrSkip(context);
  fillUp(join(disk.dir!, 'filler'));
  await expect(Broker.open({ dataDir })).rejects.toMatchObject(ENOSPC);
  expect((await readdir(dataDir)).filter((name) => name.startsWith('broker.lock')), 'the lock built under a private name').toEqual([]);
}, 20_000);
