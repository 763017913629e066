/**
 * A nack's reason, through the public API, on both transports and in process alike: a handler
 * that throws nacks with what it threw (`Name: message`), nack({ reason }) says it itself; the
 * broker's `nacked` event carries it, and a record that runs out of attempts is dead-lettered
 * with it after the plain reason (docs/semantics.md "Redelivery", docs/protocol.md "Settle").
 */
import { expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, DEAD_LETTER_REASON_BYTES_MAX, type Broker, type BrokerEvents } from '@brook/broker';
import type { TargetSuite } from './fixtures/client-targets.js';
import { describeOnEachTarget, unique } from './fixtures/client-targets.js';

type Subscriber = (topic: string, group: string, handler: (message: { text(): string | null; nack(options: { reason: string }): Promise<void> }) => unknown) => Promise<{ close(): Promise<void> }>;

/** The client's subscribe and the in-process broker's, with the settings these tests use. */
function subscribers(suite: TargetSuite): [string, Subscriber][] {
  const settings = { maxDeliveries: 2, backoff: { initialMs: 1, jitter: 0 } };
  return [
    ['client', (topic, group, handler) => suite.client.subscribe({ topic, group, ...settings }, handler)],
    ['broker', (topic, group, handler) => suite.target.broker.subscribe({ topic, group, ...settings }, handler)],
  ];
}

/** The reasons of the `nacked` events of `topic`, as they come. */
function nackReasons(broker: Broker, topic: string): (string | undefined)[] {
  const reasons: (string | undefined)[] = [];
  const listener: BrokerEvents['nacked'] = (e) => {
    if (e.topic === topic) reasons.push(e.reason);
  };
  broker.on('nacked', listener);
  return reasons;
}

/** The `brook.reason` header of the dead letters of `topic`, once there are `count`. */
async function deadLetterReasons(suite: TargetSuite, topic: string, count: number): Promise<string[]> {
  for (;;) {
    const topics = await suite.client.admin.listTopics();
    const copies = topics.includes(`${topic}.dlq`) ? await suite.client.fetch({ topic: `${topic}.dlq`, partition: 0, offset: 0n }) : [];
    if (copies.length >= count) return copies.map((copy) => Buffer.from(copy.headers.find((h) => h.key === DEAD_LETTER_HEADERS.reason)!.value!).toString());
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describeOnEachTarget('the reason of a nack', (suite) => {
  it('a handler that throws nacks with `Name: message` of the error, String() of anything else; the dead letter names the last failure', async () => {
    for (const [api, subscribe] of subscribers(suite)) {
      const topic = await suite.topic();
      await suite.client.producer().send(topic, [{ value: 'error' }, { value: 'string' }]);
      const reasons = nackReasons(suite.target.broker, topic);
      const subscription = await subscribe(topic, unique('g'), (message) => {
        if (message.text() === 'error') throw new TypeError('x is undefined');
        return Promise.reject('not an Error'); // a rejection with no Error, as some libraries make
      });
      const dead = await deadLetterReasons(suite, topic, 2);
      await subscription.close();
      expect(dead.sort(), api).toEqual([
        'nack on attempt 2 of maxDeliveries 2; last failure: TypeError: x is undefined',
        'nack on attempt 2 of maxDeliveries 2; last failure: not an Error',
      ]);
      expect(reasons.sort(), api).toEqual(['TypeError: x is undefined', 'TypeError: x is undefined', 'not an Error', 'not an Error']);
    }
  });

  it('nack({ reason }) longer than a frame is cut to DEAD_LETTER_REASON_BYTES_MAX with an ellipsis, not refused: the same reason in process and over the client', async () => {
    const reason = `${'é'.repeat(5 * 1024 * 1024)}!`; // 10 MiB of UTF-8: over the server's frameBytesMax
    const seen: (string | undefined)[][] = [];
    for (const [api, subscribe] of subscribers(suite)) {
      const topic = await suite.topic();
      await suite.client.producer().send(topic, [{ value: 'long' }]);
      const reasons = nackReasons(suite.target.broker, topic);
      const subscription = await subscribe(topic, unique('g'), (message) => message.nack({ reason }));
      const [dead] = await deadLetterReasons(suite, topic, 1);
      await subscription.close();
      expect(reasons.map((r) => Buffer.byteLength(r!)), api).toEqual([DEAD_LETTER_REASON_BYTES_MAX - 1, DEAD_LETTER_REASON_BYTES_MAX - 1]);
      expect(reasons[0], api).toMatch(/^é+…$/);
      expect(Buffer.byteLength(dead!), api).toBeLessThanOrEqual(DEAD_LETTER_REASON_BYTES_MAX);
      expect(dead, api).toMatch(/^nack on attempt 2 of maxDeliveries 2; last failure: é+…$/);
      seen.push(reasons);
    }
    expect(seen[0]).toEqual(seen[1]);
  });
});
