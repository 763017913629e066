/**
 * The client on a connection whose peer went quiet without closing it (FaultProxy.stall(): no
 * FIN, no bytes either way): the heartbeat notices it without any request, and close() does not
 * wait for a close frame that never comes. Client time runs on a VirtualClock; the sockets are real.
 */
import { describe, expect, it } from 'vitest';
import { isBrookError, type ConnectOptions } from '@brook/client';
import { proxiedServer } from './fixtures/proxied-server.js';
import { deferred, unique } from './fixtures/client-targets.js';

const HEARTBEAT_INTERVAL_MS = 1_000;
const HEARTBEAT_TIMEOUT_MS = 500;
const CLOSE_TIMEOUT_MS = 300;
const BACKOFF_MS = 10;
const proxied = proxiedServer(BACKOFF_MS);

const clientThroughProxy = (options: ConnectOptions = {}) => proxied.clientThroughProxy({
  heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, closeTimeoutMs: CLOSE_TIMEOUT_MS, ...options,
});

/** Resolves with the next value the subscriber gets that is `value`. */
function arrival(arrivals: Map<string, () => void>, value: string): Promise<void> {
  const { promise, resolve } = deferred();
  arrivals.set(value, resolve);
  return promise;
}

describe('client heartbeat', () => {
  it('a subscriber whose connection stalls notices it by the heartbeat alone, reconnects and gets what was sent meanwhile and after', async () => {
    const { client, proxy, clock } = await clientThroughProxy();
    const topic = unique('stalled');
    await proxied.broker.createTopic(topic);
    const arrivals = new Map<string, () => void>();
    await client.subscribe({ topic, group: unique('g') }, (msg) => arrivals.get(Buffer.from(msg.value!).toString())?.());
    const before = arrival(arrivals, 'before');
    await proxied.broker.produce(topic, [{ value: 'before' }]);
    await before;

    proxy.stall();
    // Delivered into the stall: the broker takes it back once the client gives the connection up.
    const during = arrival(arrivals, 'during');
    await proxied.broker.produce(topic, [{ value: 'during' }]);
    const down = new Promise<unknown>((resolve) => client.once('disconnected', resolve));
    await clock.advanceAsync(HEARTBEAT_INTERVAL_MS); // the ping goes nowhere
    await clock.advanceAsync(HEARTBEAT_TIMEOUT_MS);
    expect(isBrookError(await down, 'DISCONNECTED')).toBe(true);

    const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
    await clock.advanceAsync(BACKOFF_MS);
    await reconnected;
    await during;
    const after = arrival(arrivals, 'after');
    await proxied.broker.produce(topic, [{ value: 'after' }]);
    await after;
    await client.close();
    await proxy.close();
  });

  it('a stalled connection with requestsInFlightMax requests out is given up once they time out, not before (a held server reads no pings)', async () => {
    const REQUEST_TIMEOUT_MS = 3 * HEARTBEAT_INTERVAL_MS;
    const { client, proxy, clock } = await clientThroughProxy({ requestTimeoutMs: REQUEST_TIMEOUT_MS });
    proxy.stall();
    // The server's default requestsInFlightMax (64): at that many the session reads nothing.
    const requests = Array.from({ length: 64 }, () => client.admin.listTopics().then(() => 'answered', (error: { code: string }) => error.code));
    let down = false;
    client.once('disconnected', () => (down = true));
    await clock.advanceAsync(REQUEST_TIMEOUT_MS - 1); // pings and their deadlines pass: excused
    expect(down).toBe(false);
    await clock.advanceAsync(1);
    expect(new Set(await Promise.all(requests))).toEqual(new Set(['TIMEOUT']));
    const dropped = new Promise<unknown>((resolve) => client.once('disconnected', resolve));
    await clock.advanceAsync(HEARTBEAT_INTERVAL_MS + HEARTBEAT_TIMEOUT_MS); // the next ping's deadline judges again
    expect(isBrookError(await dropped, 'DISCONNECTED')).toBe(true);
    await client.close();
    await proxy.close();
  });

  it('heartbeatIntervalMs 0 sends no pings: a connected client keeps no timer', async () => {
    const { client, proxy, clock } = await clientThroughProxy({ heartbeatIntervalMs: 0 });
    expect(clock.pendingTimers()).toBe(0);
    await client.close();
    await proxy.close();
  });

  it('a connected client keeps one heartbeat timer, and none once closed', async () => {
    const { client, proxy, clock } = await clientThroughProxy();
    expect(clock.pendingTimers()).toBe(1);
    await client.close();
    expect(clock.pendingTimers()).toBe(0);
    await proxy.close();
  });
});

describe('client.close() on a stalled connection', () => {
  it('drops the socket after closeTimeoutMs instead of waiting for a close frame, leaving no socket or timer behind', async () => {
    const { client, proxy, clock } = await clientThroughProxy();
    proxy.stall();
    let closed = false;
    const closing = client.close().then(() => (closed = true));
    await clock.advanceAsync(CLOSE_TIMEOUT_MS - 1);
    expect(closed).toBe(false);
    await clock.advanceAsync(1);
    await closing;
    await proxy.idle();
    expect(clock.pendingTimers()).toBe(0);
    await proxy.close();
  });
});
