/**
 * A nack's reason (docs/semantics.md "Redelivery"): what a handler threw, or what nack({ reason })
 * said, on the `nacked` event and, once the record runs out of attempts, after the dead-letter
 * reason: `<cause> on attempt <n> of maxDeliveries <max>; last failure: <reason>`. Only the last
 * failed attempt's reason counts; it is kept in memory with the record. All on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_REASON_BYTES_MAX } from '@brook/protocol';
import { DEAD_LETTER_HEADERS } from './dead-letter.js';
import { engineFixture, parking } from './group-fixture.js';

async function topicWith(count: number) {
  const fixture = await engineFixture();
  await fixture.broker.createTopic('t');
  await fixture.broker.produce('t', Array.from({ length: count }, (_, i) => ({ value: `m${i}` })));
  const dead: string[] = [];
  fixture.broker.on('deadLettered', (e) => dead.push(`${e.offset} ${e.reason}`));
  return { ...fixture, dead };
}

const SETTINGS = { maxDeliveries: 2, ackTimeoutMs: 1000, backoff: { initialMs: 10, jitter: 0 } };

describe('the reason of a nack', () => {
  it('a thrown non-Error nacks with String() of it; a rejected promise as a throw does', async () => {
    const { broker, settle, advance, dead } = await topicWith(2);
    await broker.subscribe({ topic: 't', group: 'g', ...SETTINGS }, (d) => {
      if (d.offset === 0n) throw 'not an Error';
      return Promise.reject(new RangeError('total < 0'));
    });
    await advance(100);
    await settle(() => dead.length === 2);
    expect(dead.sort()).toEqual([
      '0 nack on attempt 2 of maxDeliveries 2; last failure: not an Error',
      '1 nack on attempt 2 of maxDeliveries 2; last failure: RangeError: total < 0',
    ]);
  });

  it('only the last failed attempt counts: a lease run out, or a nack without a reason, after a nack with one leaves the plain reason', async () => {
    const { broker, settle, advance, dead } = await topicWith(2);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 't', group: 'g', ...SETTINGS }, handler);
    await settle(() => held.length === 2);
    for (const d of held.splice(0)) void d.nack({ reason: 'Error: first attempt' });
    await advance(10);
    await settle(() => held.length === 2);
    void held.find((d) => d.offset === 1n)!.nack();
    await advance(1000); // offset 0's second lease runs out
    await settle(() => dead.length === 2);
    expect(dead.sort()).toEqual(['0 leaseExpired on attempt 2 of maxDeliveries 2', '1 nack on attempt 2 of maxDeliveries 2']);
  });

  it('a reason longer than DEAD_LETTER_REASON_BYTES_MAX is cut at a character boundary with an ellipsis, not refused; the dead letter is cut to the same bound', async () => {
    const { broker, settle, dead } = await topicWith(1);
    const nacked: string[] = [];
    broker.on('nacked', (e) => nacked.push(e.reason!));
    await broker.subscribe({ topic: 't', group: 'g', maxDeliveries: 1 }, (d) => d.nack({ reason: `${'a'.repeat(DEAD_LETTER_REASON_BYTES_MAX - 2)}€€` }));
    await settle(() => dead.length === 1);
    // 1022 a's and a three-byte € do not fit: the a's and the ellipsis (three bytes) do, 1021 of them.
    expect(nacked).toEqual([`${'a'.repeat(DEAD_LETTER_REASON_BYTES_MAX - 3)}…`]);
    expect(Buffer.byteLength(nacked[0]!)).toBe(DEAD_LETTER_REASON_BYTES_MAX);
    expect(dead[0]).toMatch(/^0 nack on attempt 1 of maxDeliveries 1; last failure: a+…$/);
    const [copy] = await broker.fetch({ topic: 't.dlq', partition: 0, offset: 0n });
    const header = Buffer.from(copy!.headers.find((h) => h.key === DEAD_LETTER_HEADERS.reason)!.value!);
    expect(header.length).toBe(DEAD_LETTER_REASON_BYTES_MAX);
    expect(header.toString()).toMatch(/^nack on attempt 1 of maxDeliveries 1; last failure: a+…$/);
  });

  it('is in memory only: after a restart a record out of attempts is dead-lettered with the plain reason', async () => {
    const fixture = await topicWith(1);
    const { held, handler } = parking();
    await fixture.broker.subscribe({ topic: 't', group: 'g', ...SETTINGS }, handler);
    await fixture.settle(() => held.length === 1);
    void held[0]!.nack({ reason: 'Error: first' });
    await fixture.advance(10);
    await fixture.settle(() => held.length === 2); // the last attempt, in flight when the broker stops
    const broker = await fixture.restart();
    const dead: string[] = [];
    broker.on('deadLettered', (e) => dead.push(e.reason));
    await broker.subscribe({ topic: 't', group: 'g', ...SETTINGS }, () => undefined);
    await fixture.settle(() => dead.length === 1);
    expect(dead).toEqual(['interrupted on attempt 2 of maxDeliveries 2']);
  });
});
