/**
 * After `client.close()` the client has no timer left, and after `broker.close()` its WebSocket
 * server has none either (the broker's own timers: packages/broker/src/timers-after-close.test.ts).
 *
 * The client: its clock keeps the process alive (a
 * pending request or reconnect is work to wait for), so a timer it leaves behind keeps a test
 * runner or a script from exiting, and fires later into a closed client. Each case runs the
 * client on its own VirtualClock and counts what is still armed on it once close() resolved.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect, type Client } from '@brook/client';
import { VirtualClock } from '@brook/protocol';
import { closeAfterEach } from './fixtures/close-after-each.js';

const opened = closeAfterEach();

async function open(over: 'in-process' | 'ws'): Promise<{ clock: VirtualClock; client: Client; broker: Broker }> {
  const broker = opened(await Broker.open({ storage: 'memory' }));
  const clock = new VirtualClock();
  const target = over === 'ws' ? (await broker.listen({ port: 0, host: '127.0.0.1' })).url : broker;
  const client = opened(await connect(target, { clock }));
  return { clock, client, broker };
}

describe.each(['in-process', 'ws'] as const)('no client timer outlives client.close() (%s)', (over) => {
  it('after a send flushed by close() before its lingerMs ran out', async () => {
    const { clock, client } = await open(over);
    await client.admin.createTopic(`linger-${over}`);
    const sent = client.producer({ lingerMs: 60_000 }).send(`linger-${over}`, [{ value: 'v' }]);
    await client.close();
    expect((await sent).map((r) => r.offset)).toEqual([0n]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('after a subscription and a consume() loop left early', async () => {
    const { clock, client } = await open(over);
    const topic = `sub-${over}`;
    await client.admin.createTopic(topic);
    await client.producer().send(topic, [{ value: 'a' }, { value: 'b' }]);
    const sub = await client.subscribe({ topic, group: `${topic}-g` }, async () => undefined);
    await sub.close();
    for await (const msg of client.consume({ topic, group: `${topic}-loop` })) {
      await msg.ack();
      break;
    }
    await client.close();
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('no client timer outlives client.close() with messages waiting unseen in the client', () => {
  it('a consume() loop ended by close() while its queue holds messages it never read', async () => {
    const { clock, client } = await open('ws');
    await client.admin.createTopic('unseen-loop');
    await client.producer().send('unseen-loop', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const stream = client.consume({ topic: 'unseen-loop', group: 'unseen-loop-g' });
    const first = await stream[Symbol.asyncIterator]().next();
    await first.value.ack();
    await client.close();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a consume() loop never read, its queue filled by several DELIVER frames (one lease timer watches them all)', async () => {
    const { clock, client, broker } = await open('ws');
    await client.admin.createTopic('unseen-frames');
    const stream = client.consume({ topic: 'unseen-frames', group: 'unseen-frames-g' });
    await stream.ready;
    const delivered = (count: number) => new Promise<void>((resolve) => {
      let seen = 0;
      const onDelivered = (): void => {
        if (++seen < count) return;
        broker.off('delivered', onDelivered);
        resolve();
      };
      broker.on('delivered', onDelivered);
    });
    for (const value of ['a', 'b', 'c']) {
      const sent = delivered(1);
      await client.producer().send('unseen-frames', [{ value }]);
      await sent;
    }
    await client.close();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a handler subscription whose handler place is taken while more messages wait for it', async () => {
    const { clock, client } = await open('ws');
    await client.admin.createTopic('unseen-handler');
    await client.producer().send('unseen-handler', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    await client.subscribe({ topic: 'unseen-handler', group: 'unseen-handler-g', maxInFlight: 1 }, async () => {
      started();
      await held;
    });
    await running;
    const closing = client.close();
    release();
    await closing;
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('no client timer outlives client.close() when the broker went first', () => {
  it('a send retrying a full topic (discard new) when the broker closes', async () => {
    const { clock, client, broker } = await open('in-process');
    await client.admin.createTopic('full-then-closed', { retention: { maxBytes: 1024, discard: 'new' } });
    let full: unknown;
    while (full === undefined) await broker.produce('full-then-closed', [{ value: 'x'.repeat(100) }]).catch((error: unknown) => (full = error));
    const retrying = client.producer().send('full-then-closed', [{ value: 'y' }]).catch((error: { code: string }) => error.code);
    await clock.advanceAsync(10);
    await broker.close();
    // The send learns the broker is gone when its retry backoff ends.
    let closed = false;
    const closing = client.close().then(() => (closed = true));
    while (!closed) await clock.advanceAsync(100);
    await closing;
    expect(await retrying).toBe('CLOSED');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a WebSocket client reconnecting with backoff to a server that is gone', async () => {
    const { clock, client, broker } = await open('ws');
    const sub = await client.subscribe({ topic: 'gone-server', group: 'gone-server-g' }, async () => undefined).catch(() => undefined);
    void sub;
    const dropped = new Promise((resolve) => client.once('disconnected', resolve));
    await broker.close();
    await dropped;
    await clock.advanceAsync(1_000);
    await client.close();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a WAL producer whose broker is unreachable', async () => {
    const { clock, client, broker } = await open('ws');
    await client.admin.createTopic('wal-unreachable');
    const dir = await mkdtemp(join(tmpdir(), 'brook-wal-leak-'));
    const producer = client.producer({ wal: { dir } });
    await producer.send('wal-unreachable', [{ value: 'a' }]);
    await broker.close();
    await producer.send('wal-unreachable', [{ value: 'b' }]);
    await clock.advanceAsync(1_000);
    await producer.close().catch(() => undefined);
    await client.close();
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe("no timer of the broker's WebSocket server outlives broker.close()", () => {
  it('with a client connected and subscribed: the close grace of its connection is cancelled before close() resolves', async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    const server = await broker.listen({ port: 0, host: '127.0.0.1' });
    const client = opened(await connect(server.url));
    await client.admin.createTopic('server-timers');
    await client.subscribe({ topic: 'server-timers', group: 'server-timers-g' }, async () => undefined);
    await broker.close();
    expect(clock.pendingTimers()).toBe(0);
  });
});
