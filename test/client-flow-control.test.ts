/**
 * Flow control at the client's end (docs/protocol.md, "Credit"): what a consumer that stops
 * taking messages costs it. In process, on a VirtualClock, so leases run out on command.
 */
import { describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect, type Message } from '@brook/client';
import { VirtualClock, isBrookError } from '@brook/protocol';
import { closeAfterEach } from './fixtures/close-after-each.js';
import { advance } from './fixtures/virtual-time.js';

const opened = closeAfterEach();

describe('a consume() loop that is not read', () => {
  it('queues at most maxInFlight messages, however often its leases run out and the records come again', async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    await broker.createTopic('flow-unread');
    await broker.produce('flow-unread', Array.from({ length: 4 }, (_, i) => ({ value: `m${i}` })));
    const client = opened(await connect(broker, { clock }));
    const maxInFlight = 2;
    const ackTimeoutMs = 100;
    const stream = client.consume({ topic: 'flow-unread', group: 'unread', maxInFlight, ackTimeoutMs, backoff: { initialMs: 0, maxMs: 0 } });
    await stream.ready;
    for (let lease = 0; lease < 50; lease++) await advance(clock, ackTimeoutMs);
    // The loop reads again: what it finds first, before a message it can still ack, is what
    // piled up while it did not read.
    const iterator = stream[Symbol.asyncIterator]();
    let staleBeforeLive = 0;
    for (;;) {
      const message = (await iterator.next()).value as Message;
      const acked = await message.ack().then(() => true, (error: unknown) => {
        if (!isBrookError(error, 'DELIVERY_STALE')) throw error;
        return false;
      });
      if (acked) break;
      staleBeforeLive += 1;
    }
    expect(staleBeforeLive).toBeLessThanOrEqual(maxInFlight);
    await iterator.return?.();
  });
});

describe("a 'partition' consume() loop that reads late", () => {
  it('never reads an offset before an earlier one of its partition: a redelivery drops from the queue what it made stale', async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    await broker.createTopic('flow-partition');
    await broker.produce('flow-partition', [{ value: 'm0' }, { value: 'm1' }]);
    const client = opened(await connect(broker, { clock }));
    const ackTimeoutMs = 100;
    // The loop reads m0 and sits on it; m1 waits in the queue. m0's lease runs out: the go-back
    // takes m1 back too, and m0, m1 come again behind the m1 already queued, which is stale.
    const stream = client.consume({ topic: 'flow-partition', group: 'late', ordering: 'partition', maxInFlight: 3, ackTimeoutMs, backoff: { initialMs: 0, maxMs: 0 } });
    await stream.ready;
    const iterator = stream[Symbol.asyncIterator]();
    expect(((await iterator.next()).value as Message).text()).toBe('m0');
    await advance(clock, ackTimeoutMs);
    const read: string[] = [];
    while (read.filter((entry) => entry.endsWith('acked')).length < 2) {
      const message = (await iterator.next()).value as Message;
      const acked = await message.ack().then(() => 'acked', (error: { code: string }) => error.code);
      read.push(`${message.text()}#${message.deliveryCount} ${acked}`);
    }
    expect(read).toEqual(['m0#2 acked', 'm1#2 acked']);
    await stream.close();
  });
});

describe('what waits unseen at the client is given back before its lease runs out (no attempt)', () => {
  it('a consume() loop not read for many leases: every record is read with deliveryCount 1, none dead-lettered at maxDeliveries 1', async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    await broker.createTopic('unseen-queue');
    await broker.produce('unseen-queue', Array.from({ length: 4 }, (_, i) => ({ value: `m${i}` })));
    const client = opened(await connect(broker, { clock }));
    const stream = client.consume({ topic: 'unseen-queue', group: 'idle-loop', maxInFlight: 2, ackTimeoutMs: 100, maxDeliveries: 1 });
    await stream.ready;
    for (let lease = 0; lease < 20; lease++) await advance(clock, 100);
    const read: string[] = [];
    for await (const message of stream) {
      await message.ack();
      read.push(`${message.text()}#${message.deliveryCount}`);
      if (read.length === 4) break;
    }
    expect(read.sort()).toEqual(['m0#1', 'm1#1', 'm2#1', 'm3#1']);
    expect(broker.describeGroup('unseen-queue', 'idle-loop').partitions[0]!.deadLettered).toBe(0);
  });

  it('each message is given back at its own time, counted from its own receipt: one that arrived later waits on', async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    await broker.createTopic('unseen-each');
    const client = opened(await connect(broker, { clock }));
    const givenBack: string[] = [];
    broker.on('redelivered', ({ topic, offset, reason }) => topic === 'unseen-each' && givenBack.push(`${offset} ${reason}`));
    // A lease of 100 ms: what waits unseen goes back 75 ms after its receipt (a quarter before).
    const stream = client.consume({ topic: 'unseen-each', group: 'g', maxInFlight: 2, ackTimeoutMs: 100 });
    await stream.ready;
    await broker.produce('unseen-each', [{ value: 'm0' }]);
    await advance(clock, 50);
    await broker.produce('unseen-each', [{ value: 'm1' }]);
    await advance(clock, 24);
    expect(givenBack).toEqual([]);
    await advance(clock, 1);
    expect(givenBack).toEqual(['0 unsent']);
    await advance(clock, 49);
    expect(givenBack).toEqual(['0 unsent']);
    await advance(clock, 1);
    expect(givenBack).toEqual(['0 unsent', '1 unsent']);
  });

  it('a message waiting behind a hung handler is not dead-lettered for the waits: it runs once the handler frees its place', async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    await broker.createTopic('unseen-window');
    await broker.produce('unseen-window', [{ value: 'hangs' }, { value: 'waits' }]);
    const client = opened(await connect(broker, { clock }));
    let unhang: () => void = () => undefined;
    const seen: string[] = [];
    await client.subscribe({ topic: 'unseen-window', group: 'hung', maxInFlight: 1, ackTimeoutMs: 100, maxDeliveries: 2, backoff: { initialMs: 0, maxMs: 0 } }, (message) => {
      seen.push(`${message.text()}#${message.deliveryCount}`);
      return message.text() === 'hangs' && message.deliveryCount === 1 ? new Promise<void>((resolve) => (unhang = resolve)) : undefined;
    });
    // 'hangs' outlives its lease (an attempt: its handler saw it); what the broker sends next waits
    // behind it for the window's one place, lease after lease.
    for (let lease = 0; lease < 10; lease++) await advance(clock, 100);
    expect(seen).toEqual(['hangs#1']);
    unhang();
    for (let lease = 0; lease < 3; lease++) await advance(clock, 100);
    expect(seen.slice(1).sort()).toEqual(['hangs#2', 'waits#1']);
    const group = broker.describeGroup('unseen-window', 'hung');
    expect([group.lag, group.partitions[0]!.deadLettered]).toEqual([0n, 0]);
  });
});

describe('a handler subscription that ends while messages wait for a place', () => {
  it('ended by the broker (its topic deleted), it starts no handler on what waited once the running one finishes', async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    await broker.createTopic('ended-waiting');
    await broker.produce('ended-waiting', [{ value: 'hangs' }]);
    const client = opened(await connect(broker, { clock }));
    let unhang: () => void = () => undefined;
    const seen: string[] = [];
    const sub = await client.subscribe({ topic: 'ended-waiting', group: 'g', maxInFlight: 1, ackTimeoutMs: 100, backoff: { initialMs: 0, maxMs: 0 } }, (message) => {
      seen.push(`${message.text()}#${message.deliveryCount}`);
      return new Promise<void>((resolve) => (unhang = resolve));
    });
    await advance(clock, 0);
    await advance(clock, 100); // 'hangs' outlives its lease; its redelivery waits behind its own handler
    expect(seen).toEqual(['hangs#1']);
    await broker.deleteTopic('ended-waiting');
    await expect(sub.ended).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    unhang();
    await advance(clock, 0);
    expect(seen).toEqual(['hangs#1']);
  });
});
