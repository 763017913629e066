import { describe, expect, it } from 'vitest';
import { encodeDeliverFrame } from '@brook/protocol';
import { Client } from '../client.js';
import { FakeServer, openFake, tick } from '../fake-server.test-support.js';
import { handlerSink } from './handler-sink.js';
import type { Message } from './message.js';
import { Subscription } from './subscription.js';
import { deliver, delivery, joined, recordingSink } from './subscription.test-support.js';

/**
 * A subscription joined as m1 on subscription 1, then the connection dropped and came back after
 * `reconnectDelayMs`: returns once its resubscribe request is waiting for an answer.
 */
async function resubscribing(server: FakeServer, reconnectDelayMs: number, options: { requestTimeoutMs?: number; attemptsMax?: number } = {}, sink = recordingSink().sink) {
  const { attemptsMax, ...connectOptions } = options;
  const reconnect = { initialDelayMs: reconnectDelayMs, maxDelayMs: reconnectDelayMs, jitter: 0, ...(attemptsMax === undefined ? {} : { attemptsMax }) };
  const { connection, clock } = await openFake(server, { ...connectOptions, reconnect });
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

describe('Subscription', () => {
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

  it('a resubscribe refused for now gives up after reconnect.attemptsMax attempts, as the reconnect does: the subscription ends with the last refusal rather than retry in silence', async () => {
    const server = new FakeServer();
    const { ends, sink } = recordingSink();
    const { clock, subscription } = await resubscribing(server, 100, { attemptsMax: 2 }, sink);
    server.fail(server.take('subscribe'), 'IO_ERROR', true);
    await tick();
    clock.advance(100);
    await server.waitForRequests(1);
    server.fail(server.take('subscribe'), 'IO_ERROR', true);
    await tick();
    expect(ends).toMatchObject([{ code: 'IO_ERROR' }]);
    await expect(subscription.ended).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(clock.pendingTimers()).toBe(0);
    clock.advance(100);
    await tick();
    expect(server.requests).toEqual([]);
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

  it('an abort gives back what waited unseen for a handler place (released: no attempt), beside the last delivery id received', async () => {
    const { server, subscription } = await joined(handlerSink(() => new Promise<void>(() => undefined), 1), {}, { maxInFlight: 1 });
    deliver(server, 1, 0, [0n, 1n]); // 0:0 runs, 0:1 waits
    await tick();
    subscription.abort();
    await server.waitForRequests(1);
    expect(server.take('unsubscribe').json).toEqual({ op: 'unsubscribe', subscription: 1, abort: true, receivedThrough: 1, release: [[1, 1]] });
  });
});
