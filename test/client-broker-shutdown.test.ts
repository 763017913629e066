/**
 * A broker shutting down gracefully (broker.close(): END CLOSED for every subscription, then close
 * 1001) is, to a client, a dropped connection: with reconnect on, its subscriptions come back
 * once a broker is there again; with reconnect off, or when nothing can come back, they end
 * with a coded error, never as if the user had closed them.
 */
import { describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { MemoryFileSystem } from '@brook/protocol';
import { connect, type Message } from '@brook/client';
import { deferred, inProcessTarget, unique, webSocketTarget, type ClientTargetFactory } from './fixtures/client-targets.js';
import { reusablePort } from './fixtures/reusable-port.js';

/** Resolves once `predicate` holds for what has been seen, checked as each value arrives. */
function watch<T>(): { seen: T[]; push(value: T): void; until(predicate: (seen: T[]) => boolean): Promise<void> } {
  const seen: T[] = [];
  const waiters: { predicate: (seen: T[]) => boolean; resolve: () => void }[] = [];
  return {
    seen,
    push(value) {
      seen.push(value);
      for (const waiter of [...waiters]) {
        if (!waiter.predicate(seen)) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    until: (predicate) => (predicate(seen) ? Promise.resolve() : new Promise((resolve) => waiters.push({ predicate, resolve }))),
  };
}

const label = (msg: Message): string => `${msg.text()}#${msg.deliveryCount}`;
const has = (value: string) => (seen: string[]) => seen.includes(value);

describe('client when the broker shuts down gracefully', () => {
  it('over WebSocket with reconnect: handler and for-await subscriptions come back after a restart; what was in flight comes again', async () => {
    const fs = new MemoryFileSystem();
    const topic = unique('t');
    const first = await Broker.open({ storage: 'memory', fs });
    await first.createTopic(topic);
    const server = await first.listen({ port: await reusablePort() });
    const client = await connect(server.url, { reconnect: { initialDelayMs: 1, maxDelayMs: 20 } });
    const held = deferred();
    const handled = watch<string>();
    await client.subscribe({ topic, group: unique('handler') }, (msg) => {
      handled.push(label(msg));
      return msg.deliveryCount === 1 && msg.text() === 'before' ? held.promise : undefined; // in flight at the shutdown
    });
    const looped = watch<string>();
    const loop = (async () => {
      for await (const msg of client.consume({ topic, group: unique('loop') })) {
        looped.push(label(msg));
        if (msg.deliveryCount > 1 || msg.text() !== 'before') await msg.ack();
      }
      return 'ended';
    })();
    await client.producer().send(topic, [{ value: 'before' }]);
    await Promise.all([handled.until(has('before#1')), looped.until(has('before#1'))]);

    await first.close();
    const second = await Broker.open({ storage: 'memory', fs });
    await second.listen({ port: server.port });
    await Promise.all([handled.until(has('before#2')), looped.until(has('before#2'))]);
    await client.producer().send(topic, [{ value: 'after' }]);
    await Promise.all([handled.until(has('after#1')), looped.until(has('after#1'))]);

    expect(handled.seen).toEqual(['before#1', 'before#2', 'after#1']);
    expect(looped.seen).toEqual(['before#1', 'before#2', 'after#1']);
    held.resolve();
    await client.close();
    expect(await loop).toBe('ended');
    await second.close();
  });

  const targets: [string, ClientTargetFactory][] = [['in process', inProcessTarget], ['over WebSocket', webSocketTarget]];
  for (const [name, factory] of targets) {
    it(`${name} without reconnect: a for-await loop fails with DISCONNECTED instead of ending quietly`, async () => {
      const target = await factory();
      const topic = unique('t');
      await target.broker.createTopic(topic);
      const client = await target.connect({ reconnect: false });
      const stream = client.consume({ topic, group: unique('g') });
      await stream.ready;
      const loop = (async () => {
        for await (const msg of stream) await msg.ack();
      })();
      // Watched before the close: the loop may fail while close() still runs (it waits for the connections to be gone).
      const failed = expect(loop).rejects.toMatchObject({ code: 'DISCONNECTED', details: { closeCode: 1001 } });
      await target.close();
      await failed;
      expect(client.closed).toBe(true);
    });
  }

  it('in process with reconnect: the closed broker cannot come back, so a for-await loop fails with CLOSED, and a handler subscription learns it from ended', async () => {
    const target = await inProcessTarget();
    const topic = unique('t');
    await target.broker.createTopic(topic);
    const client = await target.connect({ reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    const stream = client.consume({ topic, group: unique('g') });
    const subscription = await client.subscribe({ topic, group: unique('g') }, () => undefined);
    await stream.ready;
    const loop = (async () => {
      for await (const msg of stream) await msg.ack();
    })();
    const failed = expect(loop).rejects.toMatchObject({ code: 'CLOSED' });
    await target.close();
    await failed;
    await expect(subscription.ended).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('over WebSocket without reconnect: a lost connection ends a handler subscription, and ended rejects with DISCONNECTED', async () => {
    const target = await webSocketTarget();
    const topic = unique('t');
    await target.broker.createTopic(topic);
    const client = await target.connect({ reconnect: false });
    const subscription = await client.subscribe({ topic, group: unique('g') }, () => undefined);
    await target.close();
    await expect(subscription.ended).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });
});
