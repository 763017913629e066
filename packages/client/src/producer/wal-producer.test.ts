/**
 * The WAL producer against the scripted server: the partition lookup its first send to a topic
 * needs before it can put anything into the WAL survives a dropped connection, and close() waits
 * neither for it nor for the sender's unanswered requests; a part whose numbering is refused
 * again after a renumbering waits out the retry backoff; a duplicate answer to the part's own
 * resend is no sign of another instance; a refused producer id stops the sender, poisoning
 * nothing; and close() waits for a state write under way.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, readBatchHeader } from '@brook/protocol';
import { FakeServer, openFake, tick } from '../fake-server.test-support.js';
import { TopicPartitions } from './topic-partitions.js';
import { WalProducer } from './wal-producer.js';
import { nextPart, putKeyA, settlesSoon, setup, threePartitions } from './wal-producer.test-support.js';

describe('WalProducer partition lookup', () => {
  it('takes metadataMaxAgeMs as the plain producer does: 1 and up, 0 or a fraction is INVALID_CONFIG naming it', async () => {
    const { connection, clock } = await openFake(new FakeServer());
    const make = (metadataMaxAgeMs: number) => new WalProducer(connection, new TopicPartitions(connection), {
      wal: { dir: '/wal', fs: new MemoryFileSystem(), maxBytes: 64 * 1024 }, metadataMaxAgeMs,
    }, clock, connection.random, () => undefined);
    const refused = expect.objectContaining({ code: 'INVALID_CONFIG', details: { option: 'metadataMaxAgeMs' } });
    for (const bad of [0, 1.5]) expect(() => make(bad)).toThrow(refused);
    const producer = make(1);
    await producer.ready();
    await producer.close();
  });

  it('asks again after a dropped connection instead of failing the send; later sends keep their place behind it', async () => {
    const { server, clock, producer } = await setup();
    const first = producer.send('t', [{ key: 'a', value: '1' }]);
    const second = producer.send('t', [{ key: 'a', value: '2' }]);
    await server.waitForRequests(1);
    server.take('describeTopic');
    server.drop(1006);
    await tick();
    clock.advance(0); // the reconnect's backoff
    await server.waitForRequests(1);
    server.respond(server.take('describeTopic'), threePartitions);
    const [[written], [after]] = await Promise.all([first, second]);
    expect(written).toEqual({ topic: 't', partition: after!.partition });
    expect(producer.stats.wal).toMatchObject({ records: 2 });
    await producer.close();
  });

  it('retries a retriable refusal after the retry backoff, and stops at close(): the send fails CLOSED, close() does not hang', async () => {
    const { server, clock, producer } = await setup();
    const sent = producer.send('t', [{ value: 'x' }]);
    const outcome = sent.catch((error: unknown) => error);
    await server.waitForRequests(1);
    server.fail(server.take('describeTopic'), 'IO_ERROR', true);
    await tick();
    clock.advance(60); // the default retryBackoff: 50 ms, jitter 0.2
    await server.waitForRequests(1);
    server.take('describeTopic'); // left unanswered
    await producer.close();
    expect(await outcome).toMatchObject({ code: 'CLOSED' });
  });

  it('puts by the count it has when that is metadataMaxAgeMs old and the broker is unreachable: into the WAL at once, not after the reconnect', async () => {
    const { server, clock, producer } = await setup({ metadataMaxAgeMs: 1_000 });
    const first = producer.send('t', [{ key: 'a', value: '1' }]);
    await server.waitForRequests(1);
    server.respond(server.take('describeTopic'), threePartitions);
    const [placed] = await first;
    clock.advance(1_000);
    server.drop(1006); // the clock stands still: no reconnect
    await tick();
    const later = producer.send('t', [{ key: 'a', value: '2' }]);
    expect(await settlesSoon(later)).toBe(true);
    expect(await later).toEqual([placed]);
    expect(producer.stats.wal).toMatchObject({ records: 2 });
    await producer.close();
  });

  it('fails the send at once when the lookup is refused for good (UNKNOWN_TOPIC)', async () => {
    const { server, producer } = await setup();
    const sent = producer.send('t', [{ value: 'x' }]);
    await server.waitForRequests(1);
    server.fail(server.take('describeTopic'), 'UNKNOWN_TOPIC');
    await expect(sent).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await producer.close();
  });
});

describe('WalProducer close() with a request of the sender unanswered', () => {
  it.each(['initProducer', 'produce'])('does not wait for the answer to %s: the part is abandoned, resent next time, and no error is reported', async (op) => {
    const { server, producer, fs } = await setup();
    const errors: unknown[] = [];
    producer.on('error', (error) => errors.push(error));
    const sent = producer.send('t', [{ key: 'a', value: '1' }]);
    await server.waitForRequests(1);
    server.respond(server.take('describeTopic'), threePartitions);
    await sent;
    void producer.flush().catch(() => undefined);
    await server.waitForRequests(1);
    if (op === 'produce') {
      server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0 });
      await server.waitForRequests(1);
    }
    const unanswered = server.take(op); // the broker is slow, or the answer is lost
    expect(await settlesSoon(producer.close())).toBe(true);
    expect(errors).toEqual([]);
    if (op === 'initProducer') {
      // The WAL's lock is released: the id coming now must not be written into the directory.
      server.respond(unanswered, { producerId: '7', producerEpoch: 0 });
      for (let turn = 0; turn < 20; turn++) await tick();
      expect(await fs.exists('/wal/producer.json')).toBe(false);
    }
  });
});

describe('WalProducer and a broker that keeps refusing its numbering', () => {
  it('renumbers a part refused OUT_OF_ORDER_SEQUENCE at once, and after the retry backoff when refused again (reported as retrying)', async () => {
    const { server, clock, producer } = await setup();
    const retries: string[] = [];
    producer.on('retrying', (report) => retries.push(`${report.error.code} ${report.delayMs > 0}`));
    await Promise.all([producer.send('t', [{ key: 'a', value: '1' }]), server.waitForRequests(1).then(() => server.respond(server.take('describeTopic'), threePartitions))]);
    const flushed = producer.flush();
    for (const producerId of ['7', '8']) {
      await server.waitForRequests(1);
      server.respond(server.take('initProducer'), { producerId, producerEpoch: 0 });
      await server.waitForRequests(1);
      server.fail(server.take('produce'), 'OUT_OF_ORDER_SEQUENCE');
    }
    expect(await settlesSoon(server.waitForRequests(1))).toBe(false); // waiting out the backoff
    expect(retries).toEqual(['OUT_OF_ORDER_SEQUENCE true']);
    clock.advance(2_000); // the default retryBackoff's maxDelayMs
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '9', producerEpoch: 0 });
    await server.waitForRequests(1);
    const renumbered = server.take('produce');
    expect(readBatchHeader(renumbered.data)).toMatchObject({ producerId: 9n, baseSequence: 0 });
    server.respond(renumbered, { baseOffset: '0', lastOffset: '0', duplicate: false });
    await flushed;
    await producer.close();
  });
});

describe('WalProducer and a part refused for good after a lost answer', () => {
  // (7, sequence 0, one record) again would be answered duplicate: true with the first part's
  // offset by a broker that appended it, and the next record lost.
  const expectNextPartPastIt = async (server: FakeServer, producer: WalProducer, lookup: boolean): Promise<void> => {
    await putKeyA(server, producer, 'small', lookup);
    const flushed = producer.flush();
    const next = await nextPart(server);
    expect(readBatchHeader(next.data)).toMatchObject({ producerId: 7n, baseSequence: 1, recordCount: 1 });
    server.respond(next, { baseOffset: '1', lastOffset: '1', duplicate: false });
    await flushed;
    await producer.close();
  };

  it('does not reuse the sequences of a part poisoned on its resend after a dropped connection', async () => {
    const { server, clock, producer } = await setup();
    const poisoned = new Promise((resolve) => producer.once('poison', resolve));
    await putKeyA(server, producer, 'large', true);
    void producer.flush();
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0 });
    const first = await nextPart(server); // appended by the broker, but the answer is lost
    server.drop(1006);
    await tick();
    clock.advance(0);
    const resent = await nextPart(server);
    expect([...resent.data]).toEqual([...first.data]);
    server.fail(resent, 'MESSAGE_TOO_LARGE'); // say the broker came back with a lower batchBytesMax
    await poisoned;
    await expectNextPartPastIt(server, producer, false);
  });

  it('does not reuse the sequences of a part poisoned on its first send after a reopen: the last process may have sent it', async () => {
    const { server, producer: crashed, open } = await setup();
    await putKeyA(server, crashed, 'large', true);
    void crashed.flush().catch(() => undefined);
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0 });
    await nextPart(server); // appended by the broker; the process dies before the answer
    await crashed.close();
    const producer = await open();
    const poisoned = new Promise((resolve) => producer.once('poison', resolve));
    void producer.flush();
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0 }); // the resume
    server.fail(await nextPart(server), 'MESSAGE_TOO_LARGE');
    await poisoned;
    await expectNextPartPastIt(server, producer, true);
  });
});

describe('WalProducer and a duplicate answer', () => {
  it('takes a duplicate answer to a part resent after a dropped connection as its own first request: committed, not another instance writing under its id', async () => {
    const { server, clock, producer } = await setup();
    const errors: unknown[] = [];
    producer.on('error', (error) => errors.push(error));
    await putKeyA(server, producer, 'x', true);
    const flushed = producer.flush();
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0 });
    await nextPart(server); // appended by the broker, but the answer is lost
    server.drop(1006);
    await tick();
    clock.advance(0);
    server.respond(await nextPart(server), { baseOffset: '0', lastOffset: '0', duplicate: true });
    await flushed;
    expect(errors).toEqual([]);
    expect(producer.stats).toMatchObject({ sentBatches: 1, duplicateParts: 1, wal: { records: 0 } });
    await producer.close();
  });
});

describe('WalProducer and a duplicate answer after a reopen', () => {
  it('takes only the first batch sent after a reopen as perhaps sent by the process before: a later batch sealed before the open answered duplicate is another instance\'s', async () => {
    const { server, producer: crashed, open } = await setup();
    await putKeyA(server, crashed, 'a', true);
    void crashed.flush().catch(() => undefined); // WAL batch 0 sealed
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0 });
    await nextPart(server); // appended by the broker; the process dies before the answer
    await putKeyA(server, crashed, 'b', false);
    void crashed.flush().catch(() => undefined); // WAL batch 1 sealed, never sent: one batch in flight
    await tick();
    await crashed.close();
    const producer = await open();
    const failed = new Promise<unknown>((resolve) => producer.once('error', resolve));
    void producer.flush().catch(() => undefined);
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0 }); // the resume
    server.respond(await nextPart(server), { baseOffset: '0', lastOffset: '0', duplicate: true }); // its own, from before
    const second = await nextPart(server);
    expect(readBatchHeader(second.data)).toMatchObject({ producerId: 7n, baseSequence: 1 });
    server.respond(second, { baseOffset: '5', lastOffset: '5', duplicate: true }); // someone else's sequence 1
    expect(await settlesSoon(failed)).toBe(true);
    expect(await failed).toMatchObject({ code: 'PRODUCER_FENCED', details: { producerId: 7n, baseSequence: 1, baseOffset: 5n } });
    expect((await failed as Error).message).toMatch(/already had sequence 1 of t\/\d from another batch, at offset 5: .*forgetWalProducerId, brook wal forget-producer-id/);
    expect(producer.stats).toMatchObject({ sentBatches: 1, wal: { records: 1 } });
    await producer.close();
  });
});

describe('WalProducer and a broker that refuses to give it a producer id', () => {
  // A refused initProducer says nothing about the records: they are no poison.
  it.each([
    ['the first id', false],
    ['a fresh id for a part refused OUT_OF_ORDER_SEQUENCE', true],
  ])('stops the sender with the refusal of %s and keeps the records in the WAL: no poison', async (_name, renumbering) => {
    const { server, producer, fs } = await setup();
    const errors: unknown[] = [];
    producer.on('error', (error) => errors.push(error));
    producer.on('poison', (report) => errors.push(report));
    await putKeyA(server, producer, 'x', true);
    const flushed = producer.flush().catch((error: unknown) => error);
    await server.waitForRequests(1);
    if (renumbering) {
      server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0 });
      server.fail(await nextPart(server), 'OUT_OF_ORDER_SEQUENCE');
      await server.waitForRequests(1);
    }
    server.fail(server.take('initProducer'), 'INVALID_REQUEST');
    expect(await flushed).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(errors).toEqual([expect.objectContaining({ code: 'INVALID_REQUEST' })]);
    expect(producer.stats).toMatchObject({ sentBatches: 0, poisonedParts: 0, wal: { records: 1 } });
    expect((await fs.readdir('/wal')).filter((name) => name.startsWith('poison-'))).toEqual([]);
    await producer.close();
  });
});

describe('WalProducer close() with the write of a new producer id under way', () => {
  it('waits for the write before it closes the WAL and releases its lock to the next owner of the directory', async () => {
    let renaming!: () => void;
    const reached = new Promise<void>((resolve) => (renaming = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const memory = new MemoryFileSystem();
    // The state file's rename waits for release(): the write is under way when close() comes.
    const slow = new Proxy(memory, {
      get: (target, name) => (name !== 'rename' ? (Reflect.get(target, name, target) as (...args: unknown[]) => unknown).bind(target) : async (from: string, to: string) => {
        if (to === '/wal/producer.json') {
          renaming();
          await released;
        }
        return target.rename(from, to);
      }),
    });
    const { server, producer } = await setup({}, slow);
    await putKeyA(server, producer, 'x', true);
    void producer.flush().catch(() => undefined);
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0 });
    await reached;
    const closed = producer.close();
    expect(await settlesSoon(closed)).toBe(false);
    release();
    await closed;
    expect(JSON.parse(new TextDecoder().decode(await memory.readFile('/wal/producer.json')))).toMatchObject({ producerId: '7' });
  });
});
