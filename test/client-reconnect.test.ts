/**
 * The client across broken connections, over a real server and a FaultProxy between the two:
 * connections cut at an exact moment, servers that take the TCP connection and never answer,
 * close() in the middle of a reconnect. Client time runs on a VirtualClock, so timeouts and
 * backoff happen when a test advances it; the sockets are real.
 */
import { describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { VirtualClock } from '@brook/protocol';
import { connect, isBrookError, type Client, type Message } from '@brook/client';
import { FaultProxy } from './fixtures/fault-proxy.js';
import { proxiedServer } from './fixtures/proxied-server.js';
import { deferred, unique } from './fixtures/client-targets.js';
import { reusablePort } from './fixtures/reusable-port.js';

const REQUEST_TIMEOUT_MS = 1_000;
/** Apart from REQUEST_TIMEOUT_MS, so that a test tells which of the two bounds a handshake. */
const CONNECT_TIMEOUT_MS = 200;
const BACKOFF_MS = 10;
const proxied = proxiedServer(BACKOFF_MS);

/** A client through a fresh proxy on a virtual clock, reconnecting after exactly BACKOFF_MS. */
const clientThroughProxy = () => proxied.clientThroughProxy({ requestTimeoutMs: REQUEST_TIMEOUT_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS });

/** Cuts the client's connection and waits until the client has seen it. */
async function cut(client: Client, proxy: FaultProxy): Promise<void> {
  const down = new Promise((resolve) => client.once('disconnected', resolve));
  proxy.cut();
  await down;
}

describe('client and a stalled server', () => {
  it('connect() to a server that takes the connection and never answers fails with TIMEOUT after connectTimeoutMs (not requestTimeoutMs), retriable, leaving no socket open', async () => {
    const proxy = await FaultProxy.start(proxied.server.port);
    proxy.mode = 'blackhole';
    const clock = new VirtualClock({ startMs: Date.now() });
    const connecting = connect(proxy.url, { clock, connectTimeoutMs: CONNECT_TIMEOUT_MS }).catch((error: unknown) => error);
    await proxy.accepts(1);
    clock.advance(CONNECT_TIMEOUT_MS - 1);
    clock.advance(1);
    const error = await connecting;
    expect(error).toMatchObject({ code: 'TIMEOUT', retriable: true, details: { op: 'connect', timeoutMs: CONNECT_TIMEOUT_MS } });
    expect((error as Error).message).toMatch(/no WELCOME from .* within 200 ms \(connectTimeoutMs\)/);
    await proxy.idle();
    await proxy.close();
  });

  it('a reconnect attempt that stalls is given up after connectTimeoutMs and the next one gets through', async () => {
    const { client, proxy, clock } = await clientThroughProxy();
    proxy.mode = 'blackhole';
    await cut(client, proxy);
    await clock.advanceAsync(BACKOFF_MS);
    await proxy.accepts(2);
    proxy.mode = 'forward';
    const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
    await clock.advanceAsync(CONNECT_TIMEOUT_MS);
    await clock.advanceAsync(BACKOFF_MS);
    await reconnected;
    expect((await client.admin.listTopics()).length).toBeGreaterThanOrEqual(0);
    await client.close();
    await proxy.close();
  });

  it('stalled reconnect attempts each end after connectTimeoutMs (TIMEOUT is retriable: the next attempt follows) until attemptsMax, then DISCONNECTED', async () => {
    const { client, proxy, clock } = await proxied.clientThroughProxy({
      connectTimeoutMs: CONNECT_TIMEOUT_MS, reconnect: { initialDelayMs: BACKOFF_MS, maxDelayMs: BACKOFF_MS, jitter: 0, attemptsMax: 2 },
    });
    proxy.mode = 'blackhole';
    const closed = new Promise<unknown>((resolve) => client.once('closed', resolve));
    await cut(client, proxy);
    for (const accepted of [2, 3]) {
      await clock.advanceAsync(BACKOFF_MS);
      await proxy.accepts(accepted);
      await clock.advanceAsync(CONNECT_TIMEOUT_MS);
    }
    expect(await closed).toMatchObject({ code: 'DISCONNECTED', details: { attempts: 2 }, cause: { code: 'TIMEOUT', details: { op: 'connect' } } });
    await proxy.idle();
    await proxy.close();
  });

  it('close() while a reconnect attempt stalls ends it: no socket stays open, no timer is left', async () => {
    const { client, proxy, clock } = await clientThroughProxy();
    proxy.mode = 'blackhole';
    await cut(client, proxy);
    await clock.advanceAsync(BACKOFF_MS);
    await proxy.accepts(2);
    await client.close();
    await proxy.idle();
    expect(clock.pendingTimers()).toBe(0);
    await proxy.close();
  });

  it('close() during the backoff before a reconnect leaves no timer behind', async () => {
    const { client, proxy, clock } = await clientThroughProxy();
    await cut(client, proxy);
    await client.close();
    expect(clock.pendingTimers()).toBe(0);
    await proxy.close();
  });
});

describe('producer across a lost connection', () => {
  it('a send whose deliveryTimeoutMs passes while its batch waits for the reconnect fails with TIMEOUT and is never appended afterwards', async () => {
    // One reconnect attempt stalls across the whole deliveryTimeoutMs.
    const { client, proxy, clock } = await proxied.clientThroughProxy({ requestTimeoutMs: REQUEST_TIMEOUT_MS, connectTimeoutMs: REQUEST_TIMEOUT_MS });
    const name = unique('expired');
    await client.admin.createTopic(name);
    const producer = client.producer({ deliveryTimeoutMs: REQUEST_TIMEOUT_MS / 2 });
    await producer.send(name, [{ value: 'before' }]);
    proxy.mode = 'blackhole';
    await cut(client, proxy);
    await clock.advanceAsync(BACKOFF_MS);
    await proxy.accepts(2); // the reconnect stalls until its handshake deadline, connectTimeoutMs (REQUEST_TIMEOUT_MS) from now
    // Sent a little later, the produce request's own requestTimeoutMs runs past the reconnect.
    await clock.advanceAsync(100);
    const deliveryTimeoutMs = REQUEST_TIMEOUT_MS / 2;
    const expired = producer.send(name, [{ value: 'expired' }]).catch((error: unknown) => error);
    await clock.advanceAsync(deliveryTimeoutMs);
    expect(isBrookError(await expired, 'TIMEOUT')).toBe(true);
    proxy.mode = 'forward';
    const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
    await clock.advanceAsync(REQUEST_TIMEOUT_MS - 100 - deliveryTimeoutMs);
    await clock.advanceAsync(BACKOFF_MS);
    await reconnected;
    await producer.send(name, [{ value: 'after' }]);
    const records = await client.fetch({ topic: name, partition: 0, offset: 0n });
    expect(records.map((record) => Buffer.from(record.value!).toString())).toEqual(['before', 'after']);
    await client.close();
    await proxy.close();
  });

  it('batches of several partitions in flight when every connection is cut are each appended once, with the offsets they got', async () => {
    const { client, proxy, clock } = await clientThroughProxy();
    const name = unique('cut-batches');
    await client.admin.createTopic(name, { partitions: 3 });
    const producer = client.producer({ batchRecordsMax: 5 });
    let produced = 0;
    const onProduced = (event: { topic: string }): void => {
      // The second batch is in the log and its answer not yet written: the cut loses it.
      if (event.topic === name && ++produced === 2) proxy.cut();
    };
    proxied.broker.on('produced', onProduced);
    const down = new Promise((resolve) => client.once('disconnected', resolve));
    const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
    const sends = Array.from({ length: 6 }, (_, send) => producer.send(name, Array.from({ length: 12 }, (_, i) => ({ value: `${send}-${i}` }))));
    await down;
    await clock.advanceAsync(BACKOFF_MS);
    await reconnected;
    const results = (await Promise.all(sends)).flat();
    proxied.broker.off('produced', onProduced);
    const logged = new Map<string, string>();
    for (const partition of [0, 1, 2]) {
      for (const record of await client.fetch({ topic: name, partition, offset: 0n })) logged.set(`${partition}/${record.offset}`, Buffer.from(record.value!).toString());
    }
    expect(logged.size).toBe(72);
    const values = Array.from({ length: 6 }, (_, send) => Array.from({ length: 12 }, (_, i) => `${send}-${i}`)).flat();
    expect(results.map(({ partition, offset }) => logged.get(`${partition}/${offset}`))).toEqual(values);
    await client.close();
    await proxy.close();
  });
});

describe('consumer across a lost connection', () => {
  it('deliveries held at the cut come again with deliveryCount + 1 and an ack of the old ones rejects with DISCONNECTED', async () => {
    const { client, proxy, clock } = await clientThroughProxy();
    const name = unique('cut-held');
    await client.admin.createTopic(name);
    await client.producer().send(name, [{ value: 'a' }, { value: 'b' }]);
    const got: Message[] = [];
    const [held, release, redelivered] = [deferred(), deferred(), deferred()];
    await client.subscribe({ topic: name, group: unique('g'), maxInFlight: 2 }, (msg) => {
      if (got.push(msg) === 2) held.resolve();
      if (got.length === 4) redelivered.resolve();
      // The first two are still being worked on when the connection goes; the redeliveries never finish.
      return msg.deliveryCount === 1 ? release.promise : new Promise(() => undefined);
    });
    await held.promise;
    await cut(client, proxy);
    expect(isBrookError(await got[0]!.ack().catch((error: unknown) => error), 'DISCONNECTED')).toBe(true);
    await clock.advanceAsync(BACKOFF_MS);
    release.resolve(); // the redeliveries wait for these handlers: maxInFlight 2
    await redelivered.promise;
    expect(got.map((msg) => [msg.offset, msg.deliveryCount])).toEqual([[0n, 1], [1n, 1], [0n, 2], [1n, 2]]);
    await Promise.all([got[2]!.ack(), got[3]!.ack()]);
    client.dropConnection(); // the handlers never finish: nothing for a graceful close to wait for
    await client.close();
    await proxy.close();
  });

  it.each([
    ['earliest', 'earliest' as const],
    ['an offset', { offset: 0n }],
  ])('a tail reader from %s resumes at the tail after a reconnect: what it had is not replayed', async (_from, from) => {
    const { client, proxy, clock } = await clientThroughProxy();
    const name = unique('cut-tail');
    await client.admin.createTopic(name);
    await client.producer().send(name, [{ value: 'a' }, { value: 'b' }]);
    const seen: string[] = [];
    const [both, after] = [deferred(), deferred()];
    await client.subscribe({ topic: name, from }, (msg) => {
      seen.push(msg.text()!);
      if (seen.length === 2) both.resolve();
      if (msg.text() === 'c') after.resolve();
    });
    await both.promise;
    const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
    await cut(client, proxy);
    await clock.advanceAsync(BACKOFF_MS);
    await reconnected;
    // Subscribed again once this answers: requests go in order after the resubscribe.
    await client.admin.listTopics();
    await proxied.broker.produce(name, [{ value: 'c' }]);
    await after.promise;
    expect(seen).toEqual(['a', 'b', 'c']);
    await client.close();
    await proxy.close();
  });

  it('never runs more than maxInFlight handlers at once: redeliveries after a reconnect wait for the handlers of the lost connection', async () => {
    const { client, proxy, clock } = await clientThroughProxy();
    const [name, group] = [unique('cut-window'), unique('g')];
    await client.admin.createTopic(name);
    await client.producer().send(name, [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    let [running, mostRunning, redeliveriesStarted] = [0, 0, 0];
    const [held, releaseFirst, redeliveriesRunning, releaseSecond] = [deferred(), deferred(), deferred(), deferred()];
    await client.subscribe({ topic: name, group, maxInFlight: 3 }, async (msg) => {
      mostRunning = Math.max(mostRunning, ++running);
      if (msg.deliveryCount === 1 && running === 3) held.resolve();
      if (msg.deliveryCount > 1 && ++redeliveriesStarted === 3) redeliveriesRunning.resolve();
      await (msg.deliveryCount === 1 ? releaseFirst : releaseSecond).promise;
      running -= 1;
    });
    await held.promise;
    let redelivered = 0;
    const allRedelivered = deferred();
    const onDelivered = (event: { group: string; redelivered: boolean }): void => {
      if (event.group === group && event.redelivered && ++redelivered === 3) allRedelivered.resolve();
    };
    proxied.broker.on('delivered', onDelivered);
    await cut(client, proxy);
    await clock.advanceAsync(BACKOFF_MS);
    await allRedelivered.promise;
    proxied.broker.off('delivered', onDelivered);
    // Answered after the DELIVER frame of the redeliveries: the client has read it by now.
    await client.admin.listTopics();
    expect([mostRunning, redeliveriesStarted]).toEqual([3, 0]);
    releaseFirst.resolve();
    await redeliveriesRunning.promise;
    releaseSecond.resolve();
    expect(mostRunning).toBe(3);
    await client.close();
    await proxy.close();
  });
});

describe('a server that comes back with lower limits', () => {
  it("a request made while reconnecting that is over the new frameBytesMax fails MESSAGE_TOO_LARGE alone: the client stays open and the rest go through", async () => {
    const broker = await Broker.open({ storage: 'memory' });
    let server = await broker.listen({ port: await reusablePort() });
    const clock = new VirtualClock({ startMs: Date.now() });
    const client = await connect(server.url, { clock, reconnect: { initialDelayMs: BACKOFF_MS, maxDelayMs: BACKOFF_MS, jitter: 0 } });
    const name = unique('lower-frame');
    await client.admin.createTopic(name);
    const producer = client.producer();
    await producer.send(name, [{ value: 'before' }]);
    const down = new Promise((resolve) => client.once('disconnected', resolve));
    await server.close();
    await down;
    // Both made against the old WELCOME's 8 MiB: the produce frame fits that, not the 1 KiB to come.
    const tooLarge = producer.send(name, [{ value: 'x'.repeat(2000) }]).catch((error: unknown) => error);
    const listed = client.admin.listTopics();
    server = await broker.listen({ port: server.port, frameBytesMax: 1024 });
    const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
    await clock.advanceAsync(BACKOFF_MS);
    await reconnected;
    expect(await tooLarge).toMatchObject({ code: 'MESSAGE_TOO_LARGE', retriable: false, details: { op: 'produce', limit: 1024 } });
    expect(await listed).toContain(name);
    expect(client.closed).toBe(false);
    await producer.send(name, [{ value: 'after' }]);
    const records = await client.fetch({ topic: name, partition: 0, offset: 0n });
    expect(records.map((record) => Buffer.from(record.value!).toString())).toEqual(['before', 'after']);
    await client.close();
    await server.close();
    await broker.close();
  });

  it('records that each fit the new frameBytesMax, batched together against the old one while reconnecting, are all written', async () => {
    const broker = await Broker.open({ storage: 'memory' });
    let server = await broker.listen({ port: await reusablePort() });
    const clock = new VirtualClock({ startMs: Date.now() });
    const client = await connect(server.url, { clock, reconnect: { initialDelayMs: BACKOFF_MS, maxDelayMs: BACKOFF_MS, jitter: 0 } });
    const name = unique('lower-frame-batch');
    await client.admin.createTopic(name);
    const producer = client.producer();
    await producer.send(name, [{ value: 'before' }]); // the partition count is known: the batch is cut at once, to the old limits
    const down = new Promise((resolve) => client.once('disconnected', resolve));
    await server.close();
    await down;
    // One send of ten 200-byte records: one batch of about 2.3 KiB under the old WELCOME's 8 MiB.
    const values = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(200, '.'));
    const sent = producer.send(name, values.map((value) => ({ value }))).catch((error: unknown) => error);
    server = await broker.listen({ port: server.port, frameBytesMax: 1024 });
    const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
    await clock.advanceAsync(BACKOFF_MS);
    await reconnected;
    expect(await sent).toHaveLength(10);
    const records = await client.fetch({ topic: name, partition: 0, offset: 0n });
    expect(records.map((record) => Buffer.from(record.value!).toString())).toEqual(['before', ...values]);
    await client.close();
    await server.close();
    await broker.close();
  });
});
