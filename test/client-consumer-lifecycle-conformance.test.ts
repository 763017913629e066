/**
 * A consumer's lifecycle on both transports (describeOnEachTarget): how a for-await loop and a
 * handler subscription end (close, abort, break, a throwing body) and what becomes of the
 * messages they held. Leases here are far longer than any test, so a record that comes back does
 * so because the client gave it back, never because its lease ran out.
 */
import { expect, it } from 'vitest';
import type { Message } from '@brook/client';
import { deferred, describeOnEachTarget, unique, type TargetSuite } from './fixtures/client-targets.js';

/** Longer than the test timeout: a record held until its lease expires fails the test. */
const LONG_LEASE_MS = 600_000;

describeOnEachTarget('client consumer lifecycle', (suite) => {
  it("close() of a consume() gives back at once what it received and had not yielded, rather than at the lease's end, with no attempt counted", async () => {
    const topic = await suite.topic();
    const group = unique('g');
    await using reader = await suite.target.connect();
    const allDelivered = deliveries(suite, topic, group, 3);
    const stream = reader.consume({ topic, group, maxInFlight: 3, ackTimeoutMs: LONG_LEASE_MS });
    await suite.client.producer().send(topic, [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const first = (await stream[Symbol.asyncIterator]().next()).value as Message;
    await first.ack();
    await allDelivered;
    await stream.close();
    expect(await take(suite, topic, group, 2)).toEqual(['b#1', 'c#1']);
  });

  it('ended resolves when the consumer ends a subscription: close(), abort(), leaving a loop, client.close()', async () => {
    const topic = await suite.topic();
    const reader = await suite.target.connect();
    const closed = await reader.subscribe({ topic, group: unique('g') }, () => undefined);
    const aborted = await reader.subscribe({ topic, group: unique('g') }, () => undefined);
    const left = reader.consume({ topic, group: unique('g') });
    const atClientClose = await reader.subscribe({ topic, group: unique('g') }, () => undefined);
    await left.ready;
    await closed.close();
    aborted.abort();
    expect(await left[Symbol.asyncIterator]().return!()).toEqual({ value: undefined, done: true });
    await Promise.all([closed.ended, aborted.ended, left.ended]);
    await reader.close();
    await expect(atClientClose.ended).resolves.toBeUndefined();
  });

  it('two next() calls made together each get a message, in order', async () => {
    const topic = await suite.topic();
    await using stream = suite.client.consume({ topic, group: unique('g') });
    await stream.ready;
    const iterator = stream[Symbol.asyncIterator]();
    const both = Promise.all([iterator.next(), iterator.next()]);
    await suite.client.producer().send(topic, [{ value: 'a' }, { value: 'b' }]);
    const messages = (await both).map((result) => result.value as Message);
    expect(messages.map((message) => message.text())).toEqual(['a', 'b']);
    await Promise.all(messages.map((message) => message.ack()));
  });

  it('client.close() while a signal is closing a subscription still waits for its running handler and sends that ack', async () => {
    const topic = await suite.topic();
    const group = unique('g');
    const consumer = await suite.target.connect();
    const controller = new AbortController();
    const started = deferred();
    const finish = deferred();
    await consumer.subscribe({ topic, group, signal: controller.signal, ackTimeoutMs: LONG_LEASE_MS }, async () => {
      started.resolve();
      await finish.promise;
    });
    await suite.client.producer().send(topic, [{ value: 'slow work' }]);
    await started.promise;
    controller.abort(); // a graceful close begins
    const closed = consumer.close(); // and must be the same close, not one that returns at once
    finish.resolve();
    await closed;
    const described = await suite.client.admin.describeGroup(topic, group);
    expect([described['lag'], described.partitions[0]!.redeliveries]).toEqual([0n, 0]);
  });

  it('a for-await body that throws while close() waits for it leaves at once: what it held goes back without waiting for its lease', async () => {
    const topic = await suite.topic();
    const group = unique('g');
    await suite.client.producer().send(topic, [{ value: 'a' }]);
    await using reader = await suite.target.connect();
    const stream = reader.consume({ topic, group, ackTimeoutMs: LONG_LEASE_MS });
    let closing: Promise<void> | undefined;
    const failure = new Error('the body failed while shutting down');
    const loop = async (): Promise<void> => {
      for await (const _message of stream) {
        closing = stream.close(); // waits for the message this body holds
        throw failure; // leaving the loop this way (return()) aborts: the message goes back now
      }
    };
    await expect(loop()).rejects.toBe(failure);
    await closing;
    expect(await take(suite, topic, group, 1)).toEqual(['a#2']);
  });

  it('a handler starts only once subscribe() has resolved, as in process: it may use the subscription it was given to (close it)', async () => {
    const topic = await suite.topic();
    // Waiting before the subscribe: its DELIVER frame follows the answer at once.
    await suite.client.producer().send(topic, [{ value: 'a' }]);
    const apis = [['client', suite.client], ['broker', suite.target.broker]] as const;
    for (const [api, subscriber] of apis) {
      const handled = deferred<boolean>();
      let sub: { close(): Promise<void> } | undefined = undefined;
      sub = await subscriber.subscribe({ topic, group: unique('g') }, () => handled.resolve(sub !== undefined));
      expect(await handled.promise, `${api}: the handler saw its subscription`).toBe(true);
      await sub.close();
    }
  });

  it('a handler that settles its message and then awaits close() of its own subscription is not waited for: close() resolves at once, the settlement counted', async () => {
    type Settleable = { ack(): Promise<void>; nack(): Promise<void>; reject(reason: string): Promise<void> };
    const settle = { ack: (m: Settleable) => m.ack(), nack: (m: Settleable) => m.nack(), reject: (m: Settleable) => m.reject('done with it') };
    // [lag, redeliveries]: a nacked record is owed again (a redelivery by the nack), never by a lease.
    const expected = { ack: [0n, 0], nack: [1n, 1], reject: [0n, 0] };
    const apis = [['client', suite.client], ['broker', suite.target.broker]] as const;
    for (const [api, subscriber] of apis) {
      for (const settlement of ['ack', 'nack', 'reject'] as const) {
        for (const awaited of [true, false]) {
          const topic = await suite.topic();
          const group = unique('g');
          const closed = deferred<Promise<void>>();
          let sub: { close(): Promise<void> } | undefined = undefined;
          sub = await subscriber.subscribe({ topic, group, ackTimeoutMs: LONG_LEASE_MS }, async (message: Settleable) => {
            const settled = settle[settlement](message);
            if (awaited) await settled;
            await sub!.close();
            closed.resolve(settled);
          });
          await suite.client.producer().send(topic, [{ value: 'a' }]);
          await (await closed.promise); // a reject not awaited is done once its promise resolves
          const { lag, redeliveries } = (await suite.client.admin.describeGroup(topic, group)).partitions[0]!;
          expect([lag, redeliveries], `${api} ${settlement} ${awaited ? 'awaited' : 'not awaited'}`).toEqual(expected[settlement]);
        }
      }
    }
  });

  it("a tail reader's close() resolves at once, a handler still running included, as in process (it keeps no acks: nothing to wait for)", async () => {
    const topic = await suite.topic();
    const apis = [['client', suite.client], ['broker', suite.target.broker]] as const;
    for (const [api, subscriber] of apis) {
      const started = deferred();
      const finish = deferred();
      let finished = false;
      const sub = await subscriber.subscribe({ topic }, async () => {
        started.resolve();
        await finish.promise;
        finished = true;
      });
      await suite.client.producer().send(topic, [{ value: api }]);
      await started.promise;
      await sub.close();
      expect(finished, `${api}: close() waited for the handler`).toBe(false);
      finish.resolve();
    }
  });

  it("a handler returning a thenable whose then() throws nacks, as a throwing handler does, instead of crashing the client", async () => {
    const topic = await suite.topic();
    const attempts: number[] = [];
    const retried = deferred();
    const sub = await suite.client.subscribe({ topic, group: unique('g'), backoff: { initialMs: 1, maxMs: 1, multiplier: 1, jitter: 0 } }, (message) => {
      attempts.push(message.deliveryCount);
      if (message.deliveryCount === 1) return { then: () => { throw new Error('a broken thenable'); } };
      retried.resolve();
      return undefined;
    });
    await suite.client.producer().send(topic, [{ value: 'a' }]);
    await retried.promise;
    await sub.close();
    expect(attempts).toEqual([1, 2]);
  });
});

/** Resolves once the broker has handed `count` records of `topic` to members of `group`. */
function deliveries(suite: TargetSuite, topic: string, group: string, count: number): Promise<void> {
  const done = deferred();
  let seen = 0;
  const onDelivered = (event: { topic: string; group: string }): void => {
    if (event.topic !== topic || event.group !== group || ++seen < count) return;
    suite.target.broker.off('delivered', onDelivered);
    done.resolve();
  };
  suite.target.broker.on('delivered', onDelivered);
  return done.promise;
}

/** Acks the next `count` messages `group` gets, as another member: `value#deliveryCount`, sorted. */
async function take(suite: TargetSuite, topic: string, group: string, count: number): Promise<string[]> {
  const got: string[] = [];
  for await (const message of suite.client.consume({ topic, group })) {
    got.push(`${message.text()}#${message.deliveryCount}`);
    await message.ack();
    if (got.length === count) break;
  }
  return got.sort();
}
