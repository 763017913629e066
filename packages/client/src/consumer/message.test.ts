import { describe, expect, it } from 'vitest';
import { encodeTakenBackFrame } from '@brook/protocol';
import { tick } from '../fake-server.test-support.js';
import { handlerSink } from './handler-sink.js';
import type { Message } from './message.js';
import { deliver, joined, recordingSink } from './subscription.test-support.js';

describe('Message', () => {
  it.each(['nack', 'reject'] as const)('a handler that settles its message itself (%s) and carries on gives its place to the next message waiting', async (how) => {
    const handled: Message[] = [];
    const sink = handlerSink((message) => {
      handled.push(message);
      return new Promise<void>(() => undefined);
    }, 1);
    const { server, subscription } = await joined(sink, {}, { maxInFlight: 1 });
    deliver(server, 1, 0, [0n]);
    deliver(server, 1, 1, [1n]); // waits: 0:0's handler holds the place
    await tick();
    void (how === 'nack' ? handled[0]!.nack() : handled[0]!.reject('unreadable'));
    deliver(server, 1, 2, [2n]); // the place that settlement freed is noticed now, and goes to 0:1
    await tick();
    expect(handled.map((message) => message.offset)).toEqual([0n, 1n]);
    subscription.abort();
  });

  it('a message is stale once the broker took it back (TAKEN_BACK), never once settled; extend() on a settled message sends nothing', async () => {
    const { seen, sink } = recordingSink();
    const { server, subscription } = await joined(sink);
    deliver(server, 1, 0, [0n, 1n]);
    await tick();
    const [acked, unsettled] = seen as [Message, Message];
    void acked.ack();
    void acked.extend(5_000);
    await server.waitForRequests(1);
    const settle = server.take('settle');
    expect(settle.json).toEqual({ op: 'settle', subscription: 1, ack: [[0, 0]] });
    server.send(encodeTakenBackFrame(1, [[0, 1]])); // its lease ran out before the ack arrived
    await tick();
    expect(unsettled.stale).toBe(true);
    expect(acked.stale).toBe(false);
    server.respond(settle);
    subscription.abort();
  });
});
