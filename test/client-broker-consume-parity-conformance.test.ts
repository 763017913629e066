/**
 * consume() loops of the client and of the in-process Broker are meant to behave alike: each
 * test runs on both transports (describeOnEachTarget) and, beside the client's consume(), against
 * Broker.consume() directly. (The settlement API the two share: client-broker-parity-conformance.)
 */
import { expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { describeOnEachTarget, unique } from './fixtures/client-targets.js';

/** Longer than the test timeout: nothing here comes back because a lease ran out. */
const LONG_LEASE_MS = 600_000;

/** The settlement API Message and Delivery share, as far as these tests use it. */
interface Settleable {
  text(): string | null;
  ack(): Promise<void>;
}

describeOnEachTarget('consume() streams alike', (suite) => {
  it('`ready` resolves once the subscription is accepted and rejects with the refusal, in process as over the client', async () => {
    const topic = await suite.topic();
    const streams: [string, (topic: string) => { readonly ready: Promise<void>; abort(): void }][] = [
      ['client', (name) => suite.client.consume({ topic: name, group: unique('g') })],
      ['broker', (name) => suite.target.broker.consume({ topic: name, group: unique('g') })],
    ];
    for (const [api, consume] of streams) {
      const accepted = consume(topic);
      await expect(accepted.ready, api).resolves.toBeUndefined();
      accepted.abort();
      await expect(consume(unique('missing')).ready, api).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    }
  });
});

describeOnEachTarget('consume() after close', (suite) => {
  it('a consume() made after close() ends its loop with CLOSED (ready and next() reject), in process as after client.close()', async () => {
    const topic = await suite.topic();
    const client = await suite.target.connect();
    await client.close();
    const broker = await Broker.open({ storage: 'memory' });
    await broker.createTopic(topic);
    await broker.close();
    const streams: [string, () => AsyncIterable<unknown> & { readonly ready: Promise<void> }][] = [
      ['client', () => client.consume({ topic, group: unique('g') })],
      ['broker', () => broker.consume({ topic, group: unique('g') })],
    ];
    for (const [api, consume] of streams) {
      const stream = consume();
      await expect(stream.ready, api).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(stream[Symbol.asyncIterator]().next(), api).rejects.toMatchObject({ code: 'CLOSED' });
    }
  });
});

describeOnEachTarget('consume() options alike', (suite) => {
  it('a misspelled option, or options that are not an object, throw INVALID_CONFIG at the consume() call, in process as over the client', async () => {
    const topic = await suite.topic();
    const calls: [string, (options: unknown) => unknown][] = [
      ['client', (options) => suite.client.consume(options as never)],
      ['broker', (options) => suite.target.broker.consume(options as never)],
    ];
    for (const [api, consume] of calls) {
      expect(() => consume({ topic, group: unique('g'), maxInflight: 5 }), api).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', details: { option: 'maxInflight', suggestion: 'maxInFlight' } }));
      expect(() => consume({ topic, group: unique('g'), backoff: { initialDelayMs: 5 } }), api).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
      expect(() => consume(null), api).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', details: { option: 'options' } }));
    }
    expect((await suite.client.admin.listGroups(topic))).toEqual([]);
  });
});

describeOnEachTarget('a loop left or closed with messages it never returned', (suite) => {
  it.each(['none', 'partition'] as const)('gives them back without an attempt: at maxDeliveries 1 nothing is dead-lettered, and the next reader gets them with deliveryCount 1 (ordering %s)', async (ordering) => {
    // 'partition': giving back the first of them takes the later ones back too (go-back), and
    // those were released as well: no attempt either.
    const options = { maxInFlight: 3, maxDeliveries: 1, ackTimeoutMs: LONG_LEASE_MS, ordering };
    type Loop = AsyncIterable<Settleable & { deliveryCount: number }> & { close(): Promise<void> };
    const loops: [string, (topic: string, group: string) => Loop][] = [
      ['client', (topic, group) => suite.client.consume({ topic, group, ...options })],
      ['broker', (topic, group) => suite.target.broker.consume({ topic, group, ...options })],
    ];
    for (const [api, consume] of loops) {
      for (const leave of ['break', 'close'] as const) {
        const topic = await suite.topic();
        const group = unique('g');
        await suite.client.producer().send(topic, [{ value: 'read' }, { value: 'unread-1' }, { value: 'unread-2' }]);
        const first = consume(topic, group);
        for await (const message of first) {
          await message.ack();
          // Leaves the loop (at once) or closes it (gracefully), with the other two waiting in its queue.
          if (leave === 'close') await first.close();
          break;
        }
        const again: string[] = [];
        for await (const message of consume(topic, group)) {
          again.push(`${message.text()}#${message.deliveryCount}`);
          await message.ack();
          if (again.length === 2) break;
        }
        expect(again, `${api} ${leave}`).toEqual(['unread-1#1', 'unread-2#1']);
        const described = await suite.client.admin.describeGroup(topic, group);
        expect(described.partitions.map((p) => p.deadLettered), `${api} ${leave}`).toEqual([0]);
      }
    }
  });
});
