import { describe, expect, it } from 'vitest';
import { tick } from '../fake-server.test-support.js';
import { handlerSink } from './handler-sink.js';
import { deliver, joined } from './subscription.test-support.js';

/**
 * A subscription ('partition' unless told, maxInFlight 1) on subscription 1 whose handler has 0:0 and holds it
 * until `failFirst` fails it (a nack); every later message it acks.
 */
async function nackingFirst(ordering: 'none' | 'key' | 'partition' = 'partition') {
  const handled: bigint[] = [];
  let failFirst!: (error: Error) => void;
  const sink = handlerSink((message) => {
    handled.push(message.offset);
    if (handled.length === 1) return new Promise<void>((_resolve, reject) => (failFirst = reject));
    return undefined;
  }, 1);
  const { server, subscription } = await joined(sink, { ordering, maxInFlight: 1 }, { maxInFlight: 1, ackTimeoutMs: 60_000 });
  deliver(server, 1, 0, [0n]);
  await tick();
  return { server, subscription, handled, failFirst };
}

/** What a later delivery, or a go-back of this client's, makes stale unseen (superseded.ts). */
describe('superseded messages', () => {
  it("'partition': what arrives after a nack of an earlier offset, sent before the broker read it, is released, not handled ahead of the redelivery", async () => {
    const { server, subscription, handled, failFirst } = await nackingFirst();
    failFirst(new Error('not yet')); // a nack: the broker goes back to 0:0
    await server.waitForRequests(1);
    const nack = server.take('settle');
    expect(nack.json).toMatchObject({ nack: [[0, null]] });
    // The broker sent 0:1 before it read the nack (its credit came back with the nack's place).
    deliver(server, 1, 1, [1n]);
    await tick();
    expect(handled).toEqual([0n]);
    await server.waitForRequests(1);
    expect(server.take('settle').json).toMatchObject({ release: [[1, 1]] });
    server.respond(nack, {});
    deliver(server, 1, 2, [0n, 1n]); // the go-back's redeliveries
    await tick();
    expect(handled).toEqual([0n, 0n, 1n]);
    subscription.abort();
  });

  it("'partition': a record released on arrival goes back itself: what follows it waits for its redelivery, not for the nack's answer", async () => {
    const { server, subscription, handled, failFirst } = await nackingFirst();
    failFirst(new Error('its last attempt')); // the broker dead-letters 0:0 rather than go back
    await server.waitForRequests(1);
    const nack = server.take('settle');
    deliver(server, 1, 1, [1n]); // live: sent after the broker read the nack
    await tick();
    await server.waitForRequests(1);
    const release = server.take('settle'); // released on arrival: at the broker, a go-back from 0:1
    server.respond(nack, {});
    await tick();
    deliver(server, 1, 2, [2n]); // sent before the broker read the release, which took it back
    await tick();
    expect(handled).toEqual([0n]);
    deliver(server, 1, 3, [1n, 2n]); // the release's go-back: 0:1 again, then 0:2
    await tick();
    expect(handled).toEqual([0n, 1n, 2n]);
    server.respond(release, {});
    subscription.abort();
  });

  it("'partition': a nack holds back only its own partition: another's message waiting for the handler's place is handled next", async () => {
    const { server, subscription, handled, failFirst } = await nackingFirst();
    deliver(server, 1, 1, [5n], 1); // 1:5 waits for the place 0:0 holds
    await tick();
    failFirst(new Error('again later'));
    await server.waitForRequests(1);
    expect(server.take('settle').json).toMatchObject({ nack: [[0, null]], ack: [[1, 1]] });
    expect(handled).toEqual([0n, 5n]);
    subscription.abort();
  });

  it("'partition': a go-back whose settle the broker refused holds nothing back any more: what arrives after is handled", async () => {
    const { server, subscription, handled, failFirst } = await nackingFirst();
    failFirst(new Error('again later'));
    await server.waitForRequests(1);
    server.fail(server.take('settle'), 'TIMEOUT', true); // the broker was too busy to go back
    await tick();
    deliver(server, 1, 1, [1n]);
    await tick();
    expect(handled).toEqual([0n, 1n]);
    subscription.abort();
  });

  it("'none': a nack holds nothing back: what waited behind it and what arrives after it are handled", async () => {
    const { server, subscription, handled, failFirst } = await nackingFirst('none');
    deliver(server, 1, 1, [1n]); // waits for the handler's place
    await tick();
    failFirst(new Error('again later'));
    await server.waitForRequests(1);
    expect(server.take('settle').json).toMatchObject({ nack: [[0, null]], ack: [[1, 1]] });
    deliver(server, 1, 2, [2n]);
    await tick();
    expect(handled).toEqual([0n, 1n, 2n]);
    subscription.abort();
  });

  it("a record arriving again while its earlier delivery waits unseen releases that one ('none': and no other that waits)", async () => {
    const sink = handlerSink(() => new Promise<void>(() => undefined), 3);
    const { server, subscription } = await joined(sink, { ordering: 'none' }, { maxInFlight: 3, ackTimeoutMs: 60_000 });
    deliver(server, 1, 0, [0n, 1n, 2n, 4n, 5n]); // three handlers run, 0:4 and 0:5 wait
    deliver(server, 1, 5, [3n]); // below the highest offset, in no order to keep: nothing is stale
    await tick();
    expect(server.requests).toEqual([]);
    deliver(server, 1, 6, [5n]); // 0:5 again (its first delivery was taken back)
    await tick();
    await server.waitForRequests(1);
    expect(server.take('settle').json).toMatchObject({ release: [[4, 4]] });
    expect(sink.takeUnseen().map((message) => [message.deliveryId, message.offset])).toEqual([[3, 4n], [5, 3n], [6, 5n]]);
    subscription.abort();
  });
});
