/**
 * Flow control at the client's end (docs/protocol.md, "Credit"): what a consumer that stops
 * taking messages costs it. In process, on a VirtualClock, so leases run out on command.
 */
import { describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect, type Message } from '@brook/client';
import { VirtualClock, isBrookError } from '@brook/protocol';
import { closeAfterEach } from './fixtures/close-after-each.js';

const opened = closeAfterEach();

/** Moves the clock by `ms` and lets the client run (its settles go out on setImmediate). */
async function advance(clock: VirtualClock, ms: number): Promise<void> {
  await clock.advanceAsync(ms);
  await new Promise((resolve) => setImmediate(resolve));
}

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
    // Room for three: m0 and m1, then m0 and m1 again once m0's lease ran out (go-back). The
    // oldest, the first m0, is let go; the first m1, queued before the second m0, was taken back.
    const stream = client.consume({ topic: 'flow-partition', group: 'late', ordering: 'partition', maxInFlight: 3, ackTimeoutMs, backoff: { initialMs: 0, maxMs: 0 } });
    await stream.ready;
    await advance(clock, ackTimeoutMs);
    const iterator = stream[Symbol.asyncIterator]();
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
