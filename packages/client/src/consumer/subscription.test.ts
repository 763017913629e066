import { describe, expect, it } from 'vitest';
import { decodeStoredBatch, encodeBatch, encodeDeliverFrame, encodeTakenBackFrame } from '@brook/protocol';
import { Client } from '../client.js';
import { FakeServer, openFake, tick } from '../fake-server.test-support.js';
import { handlerSink } from './handler-sink.js';
import type { Message } from './message.js';
import { Subscription } from './subscription.js';

const delivery = (offset: bigint, partition = 0) => {
  const [record] = decodeStoredBatch(encodeBatch([{ key: null, value: Buffer.from(`v${offset}`), timestamp: 1 }], { baseOffset: offset })).records;
  return { partition, deliveryCount: 1, record: record! };
};

/** A sink that records what reaches it. */
function recordingSink() {
  const seen: Message[] = [];
  const ends: unknown[] = [];
  const sink = { credit: () => undefined, deliver: (msg: Message) => seen.push(msg) > 0, takeUnseen: () => [], oldestUnseen: () => undefined, whenReady: () => undefined, closing: () => undefined, ended: (error: unknown) => void ends.push(error) };
  return { seen, ends, sink };
}

function deliver(server: FakeServer, subscription: number, first: number, offsets: bigint[], partition = 0): void {
  server.send(encodeDeliverFrame(subscription, first, offsets.map((offset) => delivery(offset, partition))));
}

/**
 * A subscription joined as m1 on subscription 1, then the connection dropped and came back after
 * `reconnectDelayMs`: returns once its resubscribe request is waiting for an answer.
 */
async function resubscribing(server: FakeServer, reconnectDelayMs: number, options: { requestTimeoutMs?: number } = {}, sink = recordingSink().sink) {
  const { connection, clock } = await openFake(server, { ...options, reconnect: { initialDelayMs: reconnectDelayMs, maxDelayMs: reconnectDelayMs, jitter: 0 } });
  const subscription = new Subscription(connection, { topic: 't', group: 'g' }, sink, new Set());
  const started = subscription.start();
  await server.waitForRequests(1);
  server.respond(server.take('subscribe'), { subscription: 1, memberId: 'm1' });
  await started;
  server.drop(1006);
  await tick();
  clock.advance(reconnectDelayMs);
  await server.waitForRequests(1);
  return { clock, subscription, connection };
}

/**
 * A subscription ('partition' unless told, maxInFlight 1) on subscription 1 whose handler has 0:0 and holds it
 * until `failFirst` fails it (a nack); every later message it acks.
 */
async function nackingFirst(ordering: 'none' | 'key' | 'partition' = 'partition') {
  const server = new FakeServer();
  const { connection } = await openFake(server);
  const handled: bigint[] = [];
  let failFirst!: (error: Error) => void;
  const sink = handlerSink((message) => {
    handled.push(message.offset);
    if (handled.length === 1) return new Promise<void>((_resolve, reject) => (failFirst = reject));
    return undefined;
  }, 1);
  const subscription = new Subscription(connection, { topic: 't', group: 'g', ordering, maxInFlight: 1 }, sink, new Set());
  const started = subscription.start();
  await server.waitForRequests(1);
  server.respond(server.take('subscribe'), { subscription: 1, memberId: 'm1', maxInFlight: 1, ackTimeoutMs: 60_000 });
  await started;
  deliver(server, 1, 0, [0n]);
  await tick();
  return { server, subscription, handled, failFirst };
}

describe('Subscription', () => {
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
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const handled: bigint[] = [];
    const sink = handlerSink((message) => {
      handled.push(message.offset);
      return new Promise<void>(() => undefined);
    }, 3);
    const subscription = new Subscription(connection, { topic: 't', group: 'g', ordering: 'none' }, sink, new Set());
    const started = subscription.start();
    await server.waitForRequests(1);
    server.respond(server.take('subscribe'), { subscription: 1, memberId: 'm1', maxInFlight: 3, ackTimeoutMs: 60_000 });
    await started;
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

  it("one ended while its resubscribe waits to be tried again leaves alone the subscription that has its old number on the new session", async () => {
    const server = new FakeServer();
    const { subscription: waiting, connection } = await resubscribing(server, 10);
    server.fail(server.take('subscribe'), 'TIMEOUT', true); // refused for now: tried again after a backoff, still down
    await tick();
    const other = recordingSink();
    const live = new Subscription(connection, { topic: 'other', group: 'g' }, other.sink, new Set());
    const started = live.start();
    await server.waitForRequests(1);
    server.respond(server.take('subscribe'), { subscription: 1, memberId: 'm2' }); // the number `waiting` had before
    await started;
    await waiting.close();
    deliver(server, 1, 0, [0n]);
    await tick();
    expect(other.seen.map((message) => message.offset)).toEqual([0n]);
    live.abort();
  });

  it("a tail reader sums DELIVER's lostToRetention, across reconnects (each session's reader counts from 0)", async () => {
    const server = new FakeServer();
    const { connection, clock } = await openFake(server, { reconnect: { initialDelayMs: 0, maxDelayMs: 0, jitter: 0 } });
    const subscription = new Subscription(connection, { topic: 't', from: 'earliest' }, recordingSink().sink, new Set());
    const started = subscription.start();
    await server.waitForRequests(1);
    const first = server.take('subscribe');
    expect(first.json['from']).toBe('earliest');
    server.respond(first, { subscription: 1, memberId: 'reader-1' });
    await started;
    expect(subscription.lostToRetention).toBe(0n);
    server.send(encodeDeliverFrame(1, 0, [delivery(7n)], 7n));
    await tick();
    server.drop(1006);
    await tick();
    clock.advance(0);
    await server.waitForRequests(1);
    const again = server.take('subscribe');
    expect(again.json['from']).toBe('latest'); // goes on at the tail: its `from` again would replay what it read
    server.respond(again, { subscription: 1, memberId: 'reader-2' });
    await tick();
    server.send(encodeDeliverFrame(1, 0, [delivery(20n)], 3n));
    server.send(encodeDeliverFrame(1, 1, [delivery(21n)])); // nothing more lost: no field
    await tick();
    expect(subscription.memberId).toBe('reader-2');
    expect(subscription.lostToRetention).toBe(10n);
    subscription.abort();
  });

  it('routes a DELIVER that follows the subscribe RESPONSE in the same read, and acks in one settle', async () => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const seen: Message[] = [];
    const subscription = new Subscription(connection, { topic: 't', group: 'g' }, handlerSink((msg) => void seen.push(msg), 100), new Set());
    const started = subscription.start();
    await server.waitForRequests(1);
    const request = server.take('subscribe');
    expect(request.json).toMatchObject({ op: 'subscribe', topic: 't', group: 'g' });
    server.respond(request, { subscription: 3, memberId: 'm1' });
    deliver(server, 3, 10, [0n, 1n, 2n]);
    await started;
    await server.waitForRequests(1);
    expect(seen.map((msg) => msg.text())).toEqual(['v0', 'v1', 'v2']);
    expect(server.take('settle').json).toEqual({ op: 'settle', subscription: 3, ack: [[10, 12]] });
    expect(subscription.memberId).toBe('m1');
  });

  it('a graceful close waits for a handler that runs past requestTimeoutMs, sends its ack, and resolves once the unsubscribe is answered', async () => {
    const server = new FakeServer();
    const { connection, clock } = await openFake(server, { requestTimeoutMs: 1_000 });
    let finishHandler = (): void => undefined;
    const subscription = new Subscription(connection, { topic: 't', group: 'g' }, handlerSink(() => new Promise<void>((resolve) => (finishHandler = resolve)), 1), new Set());
    const started = subscription.start();
    await server.waitForRequests(1);
    server.respond(server.take('subscribe'), { subscription: 2, memberId: 'm1', ackTimeoutMs: 60_000 });
    deliver(server, 2, 0, [0n]);
    await started;
    await tick();
    let closed = false;
    const closing = subscription.close().then(() => (closed = true));
    await server.waitForRequests(1);
    const unsubscribe = server.take('unsubscribe'); // the broker answers it once the handler's delivery is settled
    clock.advance(5_000); // the handler runs on, well within its lease
    finishHandler();
    await tick();
    await tick();
    expect(server.requests.map((request) => request.json['op'])).toEqual(['settle']);
    const settle = server.take('settle');
    expect(settle.json).toEqual({ op: 'settle', subscription: 2, ack: [[0, 0]] });
    server.respond(settle);
    expect(closed).toBe(false);
    server.respond(unsubscribe);
    await closing;
  });

  it('an abort names the last delivery id received (-1 before any), so the broker gives back what was still on its way', async () => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const abortAfter = async (frames: [number, bigint[]][]) => {
      const subscription = new Subscription(connection, { topic: 't', group: 'g' }, recordingSink().sink, new Set());
      const started = subscription.start();
      await server.waitForRequests(1);
      server.respond(server.take('subscribe'), { subscription: 4, memberId: 'm1' });
      for (const [first, offsets] of frames) deliver(server, 4, first, offsets);
      await started;
      await tick();
      subscription.abort();
      await server.waitForRequests(1);
      return server.take('unsubscribe').json;
    };
    expect(await abortAfter([])).toEqual({ op: 'unsubscribe', subscription: 4, abort: true, receivedThrough: -1 });
    expect(await abortAfter([[10, [0n, 1n]], [12, [2n]]])).toEqual({ op: 'unsubscribe', subscription: 4, abort: true, receivedThrough: 12 });
  });

  it('resubscribes after a reconnect; settling a message of the lost session sends nothing (its ack fails)', async () => {
    const server = new FakeServer();
    const { connection, clock } = await openFake(server, { reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    const seen: Message[] = [];
    const subscription = new Subscription(connection, { topic: 't', group: 'g', from: { offset: 5n } }, {
      credit: () => undefined, deliver: (msg) => seen.push(msg) > 0, takeUnseen: () => [], oldestUnseen: () => undefined, whenReady: () => undefined, closing: () => undefined, ended: () => undefined,
    }, new Set());
    const started = subscription.start();
    await server.waitForRequests(1);
    const first = server.take('subscribe');
    expect(first.json['from']).toEqual({ offset: '5' });
    server.respond(first, { subscription: 1, memberId: 'm1' });
    await started;
    deliver(server, 1, 0, [5n]);
    await tick();
    server.drop(1006);
    await tick();
    clock.advance(0);
    await server.waitForRequests(1);
    const again = server.take('subscribe');
    expect(again.json['from']).toEqual({ offset: '5' }); // a group's `from` applies only to a new group
    server.respond(again, { subscription: 1, memberId: 'm2' });
    await tick();
    expect(subscription.lostToRetention).toBeUndefined(); // a member: describeGroup counts the group's
    await expect(seen[0]!.ack()).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await tick();
    expect(server.requests).toEqual([]);
    expect(subscription.memberId).toBe('m2');
  });

  describe('a subscribe the subscription gave up on is undone (unsubscribe with abort) when its answer comes', () => {
    it('aborted (signal) before the answer: nothing reaches the sink', async () => {
      const server = new FakeServer();
      const { connection } = await openFake(server);
      const { seen, sink } = recordingSink();
      const controller = new AbortController();
      const subscription = new Subscription(connection, { topic: 't', group: 'g', signal: controller.signal }, sink, new Set());
      const started = subscription.start();
      await server.waitForRequests(1);
      controller.abort();
      server.respond(server.take('subscribe'), { subscription: 4, memberId: 'm1' });
      deliver(server, 4, 0, [0n]);
      await expect(started).rejects.toBe(controller.signal.reason); // never accepted
      await server.waitForRequests(1);
      expect(server.take('unsubscribe').json).toEqual({ op: 'unsubscribe', subscription: 4, abort: true });
      expect(seen).toEqual([]);
    });

    it('client.subscribe() aborted (signal) before the answer rejects at once with the reason, and the answer is undone', async () => {
      const server = new FakeServer();
      const { connection, clock } = await openFake(server);
      const client = new Client(connection, clock, connection.random);
      const controller = new AbortController();
      const handled: Message[] = [];
      let outcome: unknown = 'pending';
      client.subscribe({ topic: 't', group: 'g', signal: controller.signal }, (msg) => void handled.push(msg))
        .then(() => (outcome = 'resolved'), (error: unknown) => (outcome = error));
      await server.waitForRequests(1);
      const reason = new Error('changed my mind');
      controller.abort(reason);
      await tick();
      expect(outcome).toBe(reason); // while the subscribe is still unanswered
      server.respond(server.take('subscribe'), { subscription: 6, memberId: 'm1' });
      deliver(server, 6, 0, [0n]);
      await server.waitForRequests(1);
      expect(server.take('unsubscribe').json).toEqual({ op: 'unsubscribe', subscription: 6, abort: true });
      expect(handled).toEqual([]);
    });

    it('timed out: start() rejects TIMEOUT, the late answer is undone', async () => {
      const server = new FakeServer();
      const { connection, clock } = await openFake(server, { requestTimeoutMs: 500 });
      const { ends, sink } = recordingSink();
      const started = new Subscription(connection, { topic: 't', group: 'g' }, sink, new Set()).start();
      await server.waitForRequests(1);
      clock.advance(500);
      await expect(started).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(ends).toMatchObject([{ code: 'TIMEOUT' }]);
      server.respond(server.take('subscribe'), { subscription: 2, memberId: 'm1' });
      await server.waitForRequests(1);
      expect(server.take('unsubscribe').json).toEqual({ op: 'unsubscribe', subscription: 2, abort: true });
    });

    it('closed while its resubscribe after a reconnect is unanswered', async () => {
      const server = new FakeServer();
      const { subscription } = await resubscribing(server, 0);
      await subscription.close();
      server.respond(server.take('subscribe'), { subscription: 1, memberId: 'm2' });
      await server.waitForRequests(1);
      expect(server.take('unsubscribe').json).toEqual({ op: 'unsubscribe', subscription: 1, abort: true });
      expect(subscription.memberId).toBe('m1');
    });
  });

  it('a resubscribe refused for now (TIMEOUT, IO_ERROR) on a connection that stays up is tried again after the reconnect backoff', async () => {
    const server = new FakeServer();
    const { ends, sink } = recordingSink();
    const { clock, subscription } = await resubscribing(server, 100, { requestTimeoutMs: 500 }, sink);
    server.fail(server.take('subscribe'), 'IO_ERROR', true);
    await tick();
    clock.advance(100);
    await server.waitForRequests(1);
    clock.advance(500); // this one times out; its late answer is undone
    await tick();
    clock.advance(100);
    server.respond(server.take('subscribe'), { subscription: 2, memberId: 'm2' }); // late: undone
    await server.waitForRequests(2);
    const undo = server.take('unsubscribe');
    expect(undo.json).toEqual({ op: 'unsubscribe', subscription: 2, abort: true });
    server.respond(undo);
    server.respond(server.take('subscribe'), { subscription: 3, memberId: 'm3' });
    await tick();
    expect(ends).toEqual([]);
    expect(subscription.memberId).toBe('m3');
    const closing = subscription.close();
    await server.waitForRequests(1);
    server.respond(server.take('unsubscribe'));
    await closing;
    expect(clock.pendingTimers()).toBe(0);
  });

  it('close() while a refused resubscribe waits to be tried again leaves no timer', async () => {
    const server = new FakeServer();
    const { clock, subscription } = await resubscribing(server, 100);
    server.fail(server.take('subscribe'), 'IO_ERROR', true);
    await tick();
    await subscription.close();
    expect(clock.pendingTimers()).toBe(0);
    expect(server.requests).toEqual([]);
  });

  it('a refused subscribe ends the sink, and `ended`, with the refusal', async () => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const { ends, sink } = recordingSink();
    const subscription = new Subscription(connection, { topic: 'nope', group: 'g' }, sink, new Set());
    const started = subscription.start();
    await server.waitForRequests(1);
    server.fail(server.take('subscribe'), 'UNKNOWN_TOPIC');
    await expect(started).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    expect(ends).toMatchObject([{ code: 'UNKNOWN_TOPIC' }]);
    await expect(subscription.ended).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
  });

  it("a member is labelled with the client's name unless the subscribe names its own; `ended` resolves once its consumer ended it, and its acks then reject DELIVERY_STALE", async () => {
    const server = new FakeServer();
    const { connection } = await openFake(server, { name: 'billing' });
    const join = async (options: { name?: string }) => {
      const { seen, sink } = recordingSink();
      const subscription = new Subscription(connection, { topic: 't', group: 'g', ...options }, sink, new Set());
      const started = subscription.start();
      await server.waitForRequests(1);
      const request = server.take('subscribe');
      server.respond(request, { subscription: 1, memberId: 'm1' });
      await started;
      return { subscription, seen, name: request.json['name'] };
    };
    const named = await join({ name: 'billing-replay' });
    expect(named.name).toBe('billing-replay');
    named.subscription.abort();
    await expect(named.subscription.ended).resolves.toBeUndefined();
    await server.waitForRequests(1);
    server.take('unsubscribe');
    const unnamed = await join({});
    expect(unnamed.name).toBe('billing');
    deliver(server, 1, 0, [0n]);
    await tick();
    unnamed.subscription.abort();
    await expect(unnamed.seen[0]!.ack()).rejects.toMatchObject({ code: 'DELIVERY_STALE' });
  });

  it.each(['nack', 'reject'] as const)('a handler that settles its message itself (%s) and carries on gives its place to the next message waiting', async (how) => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const handled: Message[] = [];
    const sink = handlerSink((message) => {
      handled.push(message);
      return new Promise<void>(() => undefined);
    }, 1);
    const subscription = new Subscription(connection, { topic: 't', group: 'g' }, sink, new Set());
    const started = subscription.start();
    await server.waitForRequests(1);
    server.respond(server.take('subscribe'), { subscription: 1, memberId: 'm1', maxInFlight: 1 });
    await started;
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
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const { seen, sink } = recordingSink();
    const subscription = new Subscription(connection, { topic: 't', group: 'g' }, sink, new Set());
    const started = subscription.start();
    await server.waitForRequests(1);
    server.respond(server.take('subscribe'), { subscription: 1, memberId: 'm1' });
    await started;
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

  it('an abort gives back what waited unseen for a handler place (released: no attempt), beside the last delivery id received', async () => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const sink = handlerSink(() => new Promise<void>(() => undefined), 1);
    const subscription = new Subscription(connection, { topic: 't', group: 'g' }, sink, new Set());
    const started = subscription.start();
    await server.waitForRequests(1);
    server.respond(server.take('subscribe'), { subscription: 1, memberId: 'm1', maxInFlight: 1 });
    await started;
    deliver(server, 1, 0, [0n, 1n]); // 0:0 runs, 0:1 waits
    await tick();
    subscription.abort();
    await server.waitForRequests(1);
    expect(server.take('unsubscribe').json).toEqual({ op: 'unsubscribe', subscription: 1, abort: true, receivedThrough: 1, release: [[1, 1]] });
  });
});
