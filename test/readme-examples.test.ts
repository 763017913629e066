/**
 * The two code examples of README.md, run as a newcomer would paste them (in process: the client
 * one with `connect(broker)`, which its comment offers), checking what their comments promise;
 * and the two of docs/testing.md, "Brook in your own tests".
 * A README example that no longer compiles or does something else fails here first, so when one
 * of them changes, change this file with it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { caughtUp, VirtualClock } from '@brook/broker/testing';
import { connect, type Message } from '@brook/client';

describe('README: Using the client', () => {
  it('runs in process and does what its comments say', async () => {
    const broker = await Broker.open({ storage: 'memory' });
    try {
      await using client = await connect(broker, { name: 'billing-service' });
      await client.admin.createTopic('orders', { partitions: 3 });
      const producer = client.producer({ lingerMs: 5 });
      const sent = await producer.send('orders', [{ key: 'u1', value: { total: 12 } }]);
      expect(sent).toEqual([{ partition: expect.any(Number), offset: 0n }]);

      let handled!: (msg: Message) => void;
      const billed = new Promise<Message>((resolve) => (handled = resolve));
      await client.subscribe({ topic: 'orders', group: 'billing', ordering: 'key' }, async (msg) => handled(msg));
      const billing = await billed;
      expect([billing.partition, billing.offset, billing.json(), billing.deliveryCount]).toEqual([sent[0]!.partition, 0n, { total: 12 }, 1]);

      for await (const msg of client.consume({ topic: 'orders', group: 'audit' })) {
        await expect(msg.ack()).resolves.toBeUndefined();
        break;
      }
      const page = await client.fetch({ topic: 'orders', partition: sent[0]!.partition, offset: 0n, maxRecords: 100 });
      expect(page.map((record) => record.offset)).toEqual([0n]);

      // "refuses a key it does not know with INVALID_CONFIG (details.option, e.g. "linger", and
      // details.suggestion, "lingerMs")"
      expect(() => client.producer({ linger: 5 } as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG', details: { option: 'linger', suggestion: 'lingerMs' } }),
      );
    } finally {
      await broker.close();
    }
  });
});

describe('README: Using the broker in-process', () => {
  it('runs on memory storage and does what its comments say', async () => {
    const broker = await Broker.open({ storage: 'memory', fsync: 'always' });
    await broker.createTopic('orders', { partitions: 3, retention: { maxBytes: 1 << 30 } });
    const meta = await broker.produce('orders', [{ key: 'u1', value: 'hi' }]);
    expect(meta).toEqual([{ partition: expect.any(Number), offset: 0n }]);
    const records = await broker.fetch({ topic: 'orders', partition: meta[0]!.partition, offset: 0n });
    expect(records.map((record) => new TextDecoder().decode(record.value!))).toEqual(['hi']);

    const redelivered: string[] = [];
    broker.on('redelivered', (e) => redelivered.push(`offset ${e.offset} again (${e.reason})`));
    const attempts: number[] = [];
    let done!: () => void;
    const second = new Promise<void>((resolve) => (done = resolve));
    const sub = await broker.subscribe({ topic: 'orders', group: 'billing', ordering: 'key', backoff: { initialMs: 1 } }, async (msg) => {
      attempts.push(msg.deliveryCount);
      if (msg.deliveryCount === 1) throw new Error('throw = nack');
      done();
    });
    await second;
    expect(attempts).toEqual([1, 2]);
    expect(redelivered).toEqual(['offset 0 again (nack)']);
    const group = broker.describeGroup('orders', 'billing');
    expect(group.partitions).toHaveLength(3);
    expect(group.partitions.every((p) => Array.isArray(p.inFlight) && typeof p.lag === 'bigint')).toBe(true);
    await sub.close();

    // Concepts: records without a key go round-robin record by record, Broker.produce from partition 0.
    await broker.createTopic('spread', { partitions: 3 });
    const spread = await broker.produce('spread', ['a', 'b', 'c', 'd'].map((value) => ({ value })));
    expect(spread.map((m) => m.partition)).toEqual([0, 1, 2, 0]);

    // "deleting its topic ends it with UNKNOWN_TOPIC, closing the broker with CLOSED"
    // Each loop has read a record (so it has joined) before the topic is deleted or the broker closed.
    const drain = (topic: string) => {
      let readOne!: () => void;
      const joined = new Promise<void>((resolve) => (readOne = resolve));
      const ended = (async () => {
        try {
          for await (const msg of broker.consume({ topic, group: 'audit' })) {
            await msg.ack();
            readOne();
          }
          return 'ended';
        } catch (error) {
          return (error as { code?: string }).code;
        }
      })();
      return { joined, ended };
    };
    const deleted = drain('spread');
    const closed = drain('orders');
    await Promise.all([deleted.joined, closed.joined]);
    await broker.deleteTopic('spread');
    expect(await deleted.ended).toBe('UNKNOWN_TOPIC');
    await broker.close();
    expect(await closed.ended).toBe('CLOSED');
  });
});

describe('docs/testing.md: Brook in your own tests', () => {
  let broker: Broker;
  beforeEach(async () => {
    broker = await Broker.open({ storage: 'memory' }); // nothing on disk, nothing shared
    await broker.createTopic('orders', { partitions: 3 });
  });
  afterEach(() => broker.close());

  it('bills each order once, a failed attempt included', async () => {
    const billed: string[] = [];
    const thrown: unknown[] = [];
    await broker.subscribe({ topic: 'orders', group: 'billing', backoff: { initialMs: 0 } }, async (msg) => {
      try {
        if (msg.text() === 'o2' && msg.deliveryCount === 1) throw new Error('flaky');
        billed.push(msg.text()!);
      } catch (error) {
        thrown.push(error); // a throw is a nack (its reason on the `nacked` event): Brook logs nothing
        throw error;
      }
    });
    await broker.produce('orders', [{ value: 'o1' }, { value: 'o2' }, { value: 'o3' }]);
    await caughtUp(broker, 'orders', 'billing'); // every record acked or dead-lettered: no sleep
    expect(billed.sort()).toEqual(['o1', 'o2', 'o3']);
    expect(thrown).toHaveLength(1);
  });

  it('a lease of 30 s passes on a VirtualClock in no time', async () => {
    const startedMs = performance.now();
    const clock = new VirtualClock();
    await using broker = await Broker.open({ storage: 'memory', clock }); // connect(broker, { clock }) for a client
    await broker.createTopic('orders');
    let attempts = 0;
    await broker.subscribe({ topic: 'orders', group: 'billing', ackTimeoutMs: 30_000 }, async () => {
      attempts += 1;
      if (attempts === 1) await new Promise(() => {}); // hangs: its lease runs out
    });
    await broker.produce('orders', [{ value: 'o1' }]);
    await clock.advanceAsync(31_000); // lease expired, backoff passed, delivered again
    await caughtUp(broker, 'orders', 'billing');
    expect(attempts).toBe(2);
    expect(performance.now() - startedMs).toBeLessThan(10_000);
  });

  it('a client on the same VirtualClock: a send with lingerMs resolves once the clock passed it, and runUntilIdle ends', async () => {
    const clock = new VirtualClock();
    await using broker = await Broker.open({ storage: 'memory', clock });
    await using client = await connect(broker, { clock });
    await client.admin.createTopic('orders');
    const sending = client.producer({ lingerMs: 5 }).send('orders', [{ value: 'o1' }]);
    await clock.advanceAsync(5);
    await expect(sending).resolves.toEqual([{ partition: 0, offset: 0n }]);
    await expect(client.producer().send('orders', [{ value: 'o2' }])).resolves.toEqual([{ partition: 0, offset: 1n }]);
    await expect(clock.runUntilIdle({ maxTimers: 100 })).resolves.toBeLessThan(100);
  });

  it('a topic under retention never lets runUntilIdle end: TIMEOUT, saying to advance by time', async () => {
    const clock = new VirtualClock();
    await using broker = await Broker.open({ storage: 'memory', clock });
    await broker.createTopic('orders', { retention: { maxAgeMs: 60_000 } });
    await expect(clock.runUntilIdle({ maxTimers: 100 })).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('advanceAsync') });
  });
});
