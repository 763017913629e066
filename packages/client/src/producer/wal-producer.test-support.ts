/** The WAL producer against the scripted server (fake-server.test-support.ts): a producer on a WAL in memory, and steps its tests share. */
import { MemoryFileSystem, type FileSystem, type Frame } from '@brook/protocol';
import { FakeServer, openFake, tick } from '../fake-server.test-support.js';
import { TopicPartitions } from './topic-partitions.js';
import { WalProducer } from './wal-producer.js';

export const threePartitions = { name: 't', partitions: [0, 1, 2].map((partition) => ({ partition, startOffset: '0', endOffset: '0' })) };

export async function setup(options: { metadataMaxAgeMs?: number } = {}, fs: FileSystem = new MemoryFileSystem()) {
  const server = new FakeServer();
  const { connection, clock } = await openFake(server, { requestTimeoutMs: 60_000, reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
  const wal = { dir: '/wal', fs, maxBytes: 64 * 1024 }; // within the fake's frame limit
  /** A producer on the WAL directory, as a process opening it does. */
  const open = async (): Promise<WalProducer> => {
    const opened = new WalProducer(connection, new TopicPartitions(connection), { wal, ...options }, clock, connection.random, () => undefined);
    await opened.ready();
    return opened;
  };
  return { server, clock, producer: await open(), fs: wal.fs, open };
}

/** Resolves true if `promise` settles within a few turns of the event loop (the clock stands still). */
export async function settlesSoon(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  for (let turn = 0; turn < 20 && !settled; turn++) await tick();
  return settled;
}

/** The produce request of `producer`'s part after a flush (the broker's answers before it scripted). */
export async function nextPart(server: FakeServer): Promise<Frame> {
  await server.waitForRequests(1);
  return server.take('produce');
}

/** Puts one record with key 'a' (so the same partition each time), answering the partition lookup a first send needs. */
export async function putKeyA(server: FakeServer, producer: WalProducer, value: string, lookup: boolean): Promise<void> {
  const put = producer.send('t', [{ key: 'a', value }]);
  if (lookup) {
    await server.waitForRequests(1);
    server.respond(server.take('describeTopic'), threePartitions);
  }
  await put;
}
