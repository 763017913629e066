/**
 * What the client does with TAKEN_BACK (docs/protocol.md, "Taken back"): a message the broker took
 * back while it waited unseen (for a handler's place, or unread in a consume() queue) never reaches
 * the consumer; its record comes again. In process (the same frames as over a socket), on a
 * VirtualClock, so leases run out on command.
 */
import { describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect, type Message } from '@brook/client';
import { VirtualClock } from '@brook/protocol';
import { closeAfterEach } from './fixtures/close-after-each.js';
import { advance } from './fixtures/virtual-time.js';

const opened = closeAfterEach();
const LEASE_MS = 1_000;

const label = (message: Message): string => `${message.offset}#${message.deliveryCount}`;

describe('a message the broker took back while it waited unseen', () => {
  it('waiting for a handler place past its lease, it never reaches the handler: the place goes to its redelivery', async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    await broker.createTopic('tb-handler');
    await broker.produce('tb-handler', [{ value: 'm0' }]);
    // The client's clock stands still, so its own release of what waits unseen (a little before
    // the lease would end) never goes: as when it would reach the broker too late, or the server
    // held the delivery unsent for part of its lease.
    const client = opened(await connect(broker, { clock: new VirtualClock() }));
    const seen: string[] = [];
    const running: (() => void)[] = [];
    await client.subscribe({ topic: 'tb-handler', group: 'g', maxInFlight: 1, ackTimeoutMs: LEASE_MS, backoff: { initialMs: 100, maxMs: 100, jitter: 0 } }, (message) => {
      seen.push(label(message));
      return new Promise<void>((resolve) => running.push(resolve));
    });
    await advance(clock, 0);
    await advance(clock, LEASE_MS); // 0#1's handler outlives its lease, holding the only place
    await advance(clock, 100); // 0#2 comes and waits for it
    await advance(clock, LEASE_MS); // 0#2's lease runs out as it waits; 0#3 comes 100 ms later
    running.shift()!();
    await advance(clock, 0);
    expect(seen).toEqual(['0#1']); // not 0#2: the broker took it back
    await advance(clock, 100);
    expect(seen).toEqual(['0#1', '0#3']);
    running.shift()!();
    await advance(clock, 0);
  });

  it("unread in a consume() queue, a 'partition' go-back's later delivery is dropped: next() waits for the redelivery in order", async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    await broker.createTopic('tb-loop');
    await broker.produce('tb-loop', [{ value: 'm0' }, { value: 'm1' }, { value: 'm2' }]);
    const client = opened(await connect(broker, { clock }));
    const stream = client.consume({ topic: 'tb-loop', group: 'g', ordering: 'partition', maxInFlight: 2, ackTimeoutMs: LEASE_MS, backoff: { initialMs: 500, maxMs: 500, jitter: 0 } });
    const loop = stream[Symbol.asyncIterator]();
    const next = async (): Promise<Message> => (await loop.next()).value as Message;
    await advance(clock, 300);
    await (await next()).ack(); // 0:2 comes at 300, in the place of 0:0
    const held = await next(); // 0:1, read and not settled: its lease runs out at 1000
    await advance(clock, 0);
    await advance(clock, LEASE_MS - 300); // 0:1 backs off until 1500 and 0:2, unread, goes back with it
    expect(held.stale).toBe(true);
    const after = next();
    await advance(clock, 500);
    expect(label(await after)).toBe('1#2'); // not 0:2#1, which the broker took back
    expect(label(await next())).toBe('2#2');
    stream.abort();
  });

  it("a handler still running on a delivery the broker took back keeps its place: the record's redelivery, same key, waits for it to finish", async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    await broker.createTopic('tb-key');
    await broker.produce('tb-key', [{ key: 'k', value: 'm0' }]);
    const client = opened(await connect(broker, { clock }));
    const events: string[] = [];
    const running: (() => void)[] = [];
    const stale: boolean[] = [];
    await client.subscribe({ topic: 'tb-key', group: 'g', ordering: 'key', maxInFlight: 1, ackTimeoutMs: LEASE_MS, backoff: { initialMs: 100, maxMs: 100, jitter: 0 } }, (message) => {
      events.push(`start ${label(message)}`);
      return new Promise<void>((resolve) => running.push(() => {
        stale.push(message.stale);
        events.push(`end ${label(message)}`);
        resolve();
      }));
    });
    await advance(clock, 0);
    await advance(clock, LEASE_MS + 100); // taken back, told, and delivered again: 0#2 waits
    running.shift()!();
    await advance(clock, 0);
    expect(events).toEqual(['start 0#1', 'end 0#1', 'start 0#2']);
    expect(stale).toEqual([true]);
    running.shift()!();
    await advance(clock, 0);
  });

  it("'partition': a handler that throws takes with it the later messages of its partition still waiting: its nack's go-back takes them back", async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    await broker.createTopic('tb-nack');
    await broker.produce('tb-nack', [{ value: 'm0' }, { value: 'm1' }]);
    const client = opened(await connect(broker, { clock }));
    const seen: string[] = [];
    const running = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
    let over = false;
    await client.subscribe({ topic: 'tb-nack', group: 'g', ordering: 'partition', maxInFlight: 2, ackTimeoutMs: LEASE_MS, backoff: { initialMs: 100, maxMs: 100, jitter: 0 } }, (message) => {
      seen.push(label(message));
      if (over) return undefined;
      return new Promise<void>((resolve, reject) => running.set(label(message), { resolve, reject }));
    });
    await advance(clock, 0);
    await advance(clock, LEASE_MS); // 0:0#1 and 0:1#1 outlive their leases, holding both places
    await advance(clock, 100); // 0:0#2 and 0:1#2 come and wait
    running.get('0#1')!.resolve();
    await advance(clock, 0);
    expect(seen).toEqual(['0#1', '1#1', '0#2']);
    running.get('0#2')!.reject(new Error('not yet')); // a nack: 0:1#2 goes back with 0:0
    await advance(clock, 0);
    expect(seen).toEqual(['0#1', '1#1', '0#2']);
    await advance(clock, 100);
    expect(seen).toEqual(['0#1', '1#1', '0#2', '0#3']);
    over = true;
    for (const handler of running.values()) handler.resolve();
    await advance(clock, 0);
  });

  it("'partition': a handler that throws on a delivery the broker took back releases nothing: the redeliveries waiting behind it are live", async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    await broker.createTopic('tb-stale-nack');
    await broker.produce('tb-stale-nack', [{ value: 'm0' }, { value: 'm1' }]);
    const redelivered: string[] = [];
    broker.on('redelivered', (event) => redelivered.push(`${event.offset}:${event.reason}`));
    const client = opened(await connect(broker, { clock }));
    const seen: string[] = [];
    const running = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
    await client.subscribe({ topic: 'tb-stale-nack', group: 'g', ordering: 'partition', maxInFlight: 2, ackTimeoutMs: LEASE_MS, backoff: { initialMs: 100, maxMs: 100, jitter: 0 } }, (message) => {
      seen.push(label(message));
      return new Promise<void>((resolve, reject) => running.set(label(message), { resolve, reject }));
    });
    await advance(clock, 0);
    await advance(clock, LEASE_MS); // 0:0#1 and 0:1#1 are taken back (told) while their handlers run
    await advance(clock, 100); // 0:0#2 and 0:1#2 come and wait for places
    running.get('0#1')!.reject(new Error('too late')); // a stale nack: no go-back of 0:1#2
    await advance(clock, 0);
    await advance(clock, 0);
    expect(seen).toEqual(['0#1', '1#1', '0#2']);
    // Released, 0:1#2 would have gone back unsent and come again.
    expect(redelivered).toEqual(['0:leaseExpired', '1:goBack']);
    running.get('1#1')!.resolve();
    await advance(clock, 0);
    expect(seen).toEqual(['0#1', '1#1', '0#2', '1#2']);
    for (const handler of running.values()) handler.resolve();
    await advance(clock, 0);
  });
});
