/**
 * An app's own test suite under vitest's fake timers (docs/testing.md, "Brook in your own
 * tests"): a memory broker on the default clock, opened after vi.useFakeTimers() and closed
 * before vi.useRealTimers(), and the client in process, work as they do on real timers; what
 * waits for time waits for the faked time.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { Broker } from '@brook/broker';
import { caughtUp } from '@brook/broker/testing';
import { connect } from '@brook/client';

afterEach(() => {
  vi.useRealTimers();
});

/** A broker with one topic and a group whose handler throws at each record's first attempt. */
async function nackingFirstAttempts(broker: Broker): Promise<string[]> {
  await broker.createTopic('orders');
  const attempts: string[] = [];
  await broker.subscribe({ topic: 'orders', group: 'billing' }, (msg) => {
    attempts.push(`${msg.text()}#${msg.deliveryCount}`);
    if (msg.deliveryCount === 1) throw new Error('first attempt fails');
  });
  await broker.produce('orders', [{ value: 'a' }]);
  return attempts;
}

it('default fakes: a delivery needs no advancing; its redelivery comes once the faked time passes the backoff', async () => {
  vi.useFakeTimers();
  await using broker = await Broker.open({ storage: 'memory' });
  const attempts = await nackingFirstAttempts(broker);
  await vi.advanceTimersByTimeAsync(0);
  expect(attempts).toEqual(['a#1']);
  await vi.advanceTimersByTimeAsync(1_000);
  expect(attempts).toEqual(['a#1', 'a#2']);
  await expect(caughtUp(broker, 'orders', 'billing')).resolves.toMatchObject({ lag: 0n });
});

it("toFake: ['setTimeout', 'clearTimeout'] (performance.now left real): the redelivery still comes on the faked time", async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  await using broker = await Broker.open({ storage: 'memory' });
  const attempts = await nackingFirstAttempts(broker);
  await vi.advanceTimersByTimeAsync(1_000);
  expect(attempts).toEqual(['a#1', 'a#2']);
});

it('the client in process: a send resolves and a handler acks with no timer advanced', async () => {
  vi.useFakeTimers();
  await using broker = await Broker.open({ storage: 'memory' });
  await using client = await connect(broker);
  await client.admin.createTopic('orders');
  await expect(client.producer().send('orders', [{ value: 'a' }])).resolves.toEqual([{ partition: 0, offset: 0n }]);
  const handled: string[] = [];
  await client.subscribe({ topic: 'orders', group: 'billing' }, (msg) => void handled.push(msg.text()!));
  await caughtUp(broker, 'orders', 'billing');
  expect(handled).toEqual(['a']);
}, 5_000);
