/**
 * The partition count's refresh once it is metadataMaxAgeMs old (TopicPartitions.current), for
 * the plain producer and the WAL producer alike: it runs in the background, one lookup at a
 * time, and holds up no send; its answer serves the sends after it.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, type Frame } from '@brook/protocol';
import { FakeServer, openFake, tick } from '../fake-server.test-support.js';
import { resolveProducerOptions, type ProducerOptions } from '../options.js';
import { Producer } from './producer.js';
import { TopicPartitions } from './topic-partitions.js';
import { WalProducer } from './wal-producer.js';

const partitions = (count: number) => ({ name: 't', partitions: Array.from({ length: count }, (_, partition) => ({ partition, startOffset: '0', endOffset: '0' })) });
/** murmur2 puts key 'b' on partition 2 of 3 (and on 0 of 1, as every key). */
const KEY = 'b';

async function setup(options: ProducerOptions = {}) {
  const server = new FakeServer();
  const { connection, clock } = await openFake(server, { requestTimeoutMs: 60_000 });
  const producer = new Producer(connection, new TopicPartitions(connection), resolveProducerOptions({ idempotent: false, ...options }), clock, connection.random, () => undefined);
  /** The oldest unanswered request with this op, once there is one (within a few turns of the event loop: the clock stands still). */
  const next = async (op: string): Promise<Frame> => {
    for (let turn = 0; turn < 20 && !server.requests.some((frame) => frame.json['op'] === op); turn++) await tick();
    return server.take(op);
  };
  /** Sends one keyed record and answers its produce: the partition it went to. */
  let offset = 0;
  const sendOne = async (): Promise<number> => {
    const sent = producer.send('t', [{ key: KEY, value: 'x' }]);
    const frame = await next('produce');
    server.respond(frame, { baseOffset: String(offset), lastOffset: String(offset), duplicate: false });
    offset += 1;
    return (await sent)[0]!.partition;
  };
  return { server, clock, producer, next, sendOne };
}

const ops = (server: FakeServer) => server.requests.map((frame) => frame.json['op']);

describe('Producer partition count refresh', () => {
  it('a send once the count is metadataMaxAgeMs old is not held by the lookup: it goes by the count it has, one lookup runs, and its answer serves the sends after it', async () => {
    const { server, clock, next, sendOne } = await setup({ metadataMaxAgeMs: 1_000 });
    const first = sendOne();
    server.respond(await next('describeTopic'), partitions(1)); // a first send waits for its count
    expect(await first).toBe(0);
    clock.advance(999);
    expect(await sendOne()).toBe(0);
    expect(ops(server)).toEqual([]);

    clock.advance(1);
    expect(await sendOne()).toBe(0); // resolved with the lookup unanswered
    const refresh = await next('describeTopic');
    expect(await sendOne()).toBe(0); // one lookup at a time: this one asks nothing more
    expect(ops(server)).toEqual([]);
    server.respond(refresh, partitions(3));
    await tick();
    expect(await sendOne()).toBe(2);
    expect(ops(server)).toEqual([]); // the new count is fresh for metadataMaxAgeMs again
  });

  it('a refresh that failed retriably is tried again by the first send retryBackoff.initialDelayMs after the failure; one refused for good makes the next send wait for a lookup, as a first send', async () => {
    const { server, clock, producer, next, sendOne } = await setup({ metadataMaxAgeMs: 1_000, retryBackoff: { initialDelayMs: 100 } });
    const first = sendOne();
    server.respond(await next('describeTopic'), partitions(1));
    await first;
    clock.advance(1_000);
    expect(await sendOne()).toBe(0);
    server.fail(await next('describeTopic'), 'IO_ERROR', true);
    await tick();
    clock.advance(99);
    expect(await sendOne()).toBe(0);
    expect(ops(server)).toEqual([]); // within the backoff: no lookup
    clock.advance(1);
    expect(await sendOne()).toBe(0);
    server.fail(await next('describeTopic'), 'UNKNOWN_TOPIC');
    await tick();
    const refused = producer.send('t', [{ key: KEY, value: 'x' }]);
    server.fail(await next('describeTopic'), 'UNKNOWN_TOPIC');
    await expect(refused).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
  });
});

describe('WalProducer partition count refresh', () => {
  it('a put once the count is metadataMaxAgeMs old goes into the WAL by the count it has while the lookup is unanswered, and later puts by the answer', async () => {
    const server = new FakeServer();
    const { connection, clock } = await openFake(server, { requestTimeoutMs: 60_000 });
    const wal = { dir: '/wal', fs: new MemoryFileSystem(), maxBytes: 64 * 1024 };
    // Below the WAL's maxAgeMs (100 ms): no batch is sealed, so the sender asks for nothing meanwhile.
    const producer = new WalProducer(connection, new TopicPartitions(connection), { wal, metadataMaxAgeMs: 50 }, clock, connection.random, () => undefined);
    await producer.ready();
    const first = producer.send('t', [{ key: KEY, value: '1' }]);
    await server.waitForRequests(1);
    server.respond(server.take('describeTopic'), partitions(1));
    expect(await first).toEqual([{ topic: 't', partition: 0 }]);
    clock.advance(50);
    expect(await producer.send('t', [{ key: KEY, value: '2' }])).toEqual([{ topic: 't', partition: 0 }]);
    await server.waitForRequests(1);
    const refresh = server.take('describeTopic');
    expect(await producer.send('t', [{ key: KEY, value: '3' }])).toEqual([{ topic: 't', partition: 0 }]);
    server.respond(refresh, partitions(3));
    await tick();
    expect(await producer.send('t', [{ key: KEY, value: '4' }])).toEqual([{ topic: 't', partition: 2 }]);
    expect(server.requests).toEqual([]);
    await producer.close();
  });
});

// A broken server's describeTopic answer: routed by a count of 0, a keyed send failed an
// assertion (not a BrookError); a discard-'new' bound of another type failed every batch with a TypeError.
describe('a partition lookup answered with what no broker sends', () => {
  it.each<[string, object]>([
    ['no partitions', { name: 't', partitions: [] }],
    ['partitions no list', { name: 't', partitions: { toString: 0 } }],
    ["a discard-'new' bound that is no positive integer", { ...partitions(1), settings: { retention: { discard: 'new', maxBytes: { toString: 0 } } } }],
  ])('%s: the send fails with INVALID_REQUEST naming describeTopic', async (_name, answer) => {
    const { server, producer, next } = await setup();
    const sent = producer.send('t', [{ key: KEY, value: 'x' }]);
    server.respond(await next('describeTopic'), answer);
    await expect(sent).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { op: 'describeTopic' } });
  });
});
