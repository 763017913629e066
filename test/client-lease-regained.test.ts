/**
 * A 'partition' member that lost its partitions to leases running out on messages its consumer
 * never saw (docs/semantics.md, "'partition' in detail"). TAKEN_BACK drops those messages unseen,
 * so the consumer has nothing left to settle: once it can take the next message again, the client
 * says so (settle `alive`, docs/protocol.md), and the member gets its share back. A consumer that
 * still cannot take one (every handler place held) stays without partitions.
 *
 * Over both transports, the broker on a VirtualClock. The clients' clocks stand still (but where a
 * test moves one), so a client's own release of what waits unseen, a little before the lease
 * would end, never goes: as when it reaches the broker too late, or the server held the delivery
 * unsent for part of its lease.
 */
import { describe, expect, it } from 'vitest';
import type { Client, Message } from '@brook/client';
import { VirtualClock } from '@brook/protocol';
import { closeAfterEach } from './fixtures/close-after-each.js';
import { CLIENT_TARGETS, deferred, unique, type ClientTarget } from './fixtures/client-targets.js';
import { advance } from './fixtures/virtual-time.js';

const opened = closeAfterEach();
const LEASE_MS = 1_000;
const BACKOFF_MS = 100;

interface Setting {
  readonly clock: VirtualClock;
  readonly target: ClientTarget;
  readonly options: { topic: string; group: string; ordering: 'partition'; maxInFlight: number; ackTimeoutMs: number; backoff: { initialMs: number; maxMs: number; jitter: number } };
}

/** A broker on a VirtualClock with a 2-partition topic, and a first member that acks everything at once. */
async function groupWithAckingMember(factory: (typeof CLIENT_TARGETS)[number][1], maxInFlight: number): Promise<Setting> {
  const clock = new VirtualClock();
  const target = opened(await factory({ clock }));
  const options = { topic: unique('alive'), group: unique('g'), ordering: 'partition', maxInFlight, ackTimeoutMs: LEASE_MS, backoff: { initialMs: BACKOFF_MS, maxMs: BACKOFF_MS, jitter: 0 } } as const;
  await target.broker.createTopic(options.topic, { partitions: 2 });
  const first = opened(await target.connect({ clock: new VirtualClock() }));
  await first.subscribe(options, () => undefined);
  return { clock, target, options };
}

/**
 * Where `member` stands, asked over `client`'s own connection: its answer comes after every frame
 * the server sent that connection before (a TAKEN_BACK among them) and after every settle the
 * client sent before it.
 */
async function standing(client: Client, { topic, group }: Setting['options'], member: string): Promise<{ leaseLost: boolean; owns: number[] }> {
  const description = await client.admin.describeGroup(topic, group);
  const leaseLost = description.members.find((m) => m.id === member)!.leaseLost;
  return { leaseLost, owns: description.partitions.filter((p) => p.owner === member).map((p) => p.partition) };
}

/** The broker's events about a member, as this file reads them. */
interface MemberEvents {
  on(name: 'delivered' | 'rebalanced', listener: (event: { member: string; reason?: string }) => void): void;
  off(name: 'delivered' | 'rebalanced', listener: (event: { member: string; reason?: string }) => void): void;
}

/** Resolves with the member of the first `name` event that `pick` picks. */
function memberEvent(setting: Setting, name: 'delivered' | 'rebalanced', pick: (event: { member: string; reason?: string }) => boolean): Promise<string> {
  const broker = setting.target.broker as unknown as MemberEvents;
  return new Promise((resolve) => {
    const listener = (event: { member: string; reason?: string }): void => {
      if (!pick(event)) return;
      broker.off(name, listener);
      resolve(event.member);
    };
    broker.on(name, listener);
  });
}

/** Resolves once the broker has handed `member` a delivery (its DELIVER frame then goes out before any later answer). */
async function deliveredTo(setting: Setting, member: string): Promise<void> {
  await memberEvent(setting, 'delivered', (event) => event.member === member);
}

/** Produces one record to `member`'s `partition` and returns once its DELIVER frame has reached `client`. */
async function deliverOne(setting: Setting, client: Client, member: string, partition: number, value: string): Promise<void> {
  const delivered = deliveredTo(setting, member);
  await setting.target.broker.produce(setting.options.topic, [{ partition, value }]);
  await delivered;
  await standing(client, setting.options, member); // answered after every frame sent before it
}

for (const [label, factory] of CLIENT_TARGETS) {
  describe(`a 'partition' member whose leases ran out on messages its consumer never saw, over ${label}`, () => {
    it('gets its partitions back once its consume() loop asks for the next message, and its records again', async () => {
      const setting = await groupWithAckingMember(factory, 2);
      const { clock, target, options } = setting;
      const client = opened(await target.connect({ clock: new VirtualClock() }));
      const stream = client.consume(options);
      await stream.ready;
      const member = stream.memberId!;
      const [partition] = (await standing(client, options, member)).owns;
      expect(partition).toBeDefined();
      await deliverOne(setting, client, member, partition!, 'unseen');
      // The loop does not read: the lease runs out on the message waiting in its queue, the member
      // loses its partition, and TAKEN_BACK drops the message unseen.
      await advance(clock, LEASE_MS);
      expect(await standing(client, options, member)).toEqual({ leaseLost: true, owns: [] });
      // The loop reads again: it has nothing to settle, but it can take the next message.
      const iterator = stream[Symbol.asyncIterator]();
      const next = iterator.next();
      await advance(clock, 0);
      expect(await standing(client, options, member)).toEqual({ leaseLost: false, owns: [partition] });
      await advance(clock, BACKOFF_MS); // the record's backoff ends: it comes to its owner again
      const message = (await next).value as Message;
      expect([message.partition, message.text(), message.deliveryCount]).toEqual([partition, 'unseen', 2]);
      await message.ack();
      stream.abort();
    });

    it("gets its partitions back once its consume() loop asks for the next message, when the client's own release of what waited crossed the lease running out", async () => {
      const setting = await groupWithAckingMember(factory, 2);
      const { clock, target, options } = setting;
      const clientClock = new VirtualClock();
      const client = opened(await target.connect({ clock: clientClock }));
      const stream = client.consume(options);
      await stream.ready;
      const member = stream.memberId!;
      const [partition] = (await standing(client, options, member)).owns;
      await deliverOne(setting, client, member, partition!, 'unseen');
      // The client gives the unread message back a quarter of the lease early; the lease runs out
      // at the broker before that release gets there: TAKEN_BACK finds the queue empty already.
      clientClock.advance(LEASE_MS - LEASE_MS / 4);
      clock.advance(LEASE_MS);
      expect(await standing(client, options, member)).toEqual({ leaseLost: true, owns: [] });
      const iterator = stream[Symbol.asyncIterator]();
      const next = iterator.next();
      await advance(clock, 0);
      expect(await standing(client, options, member)).toEqual({ leaseLost: false, owns: [partition] });
      await advance(clock, BACKOFF_MS);
      const message = (await next).value as Message;
      expect([message.partition, message.text()]).toEqual([partition, 'unseen']);
      await message.ack();
      stream.abort();
    });

    it("with every handler place held by a hung handler it stays without partitions; once one finishes, with nothing of its own to settle, it gets them back", async () => {
      const setting = await groupWithAckingMember(factory, 1);
      const { clock, target, options } = setting;
      // Moved only to reconnect (at once): never as far as the client's own release of what waits.
      const clientClock = new VirtualClock();
      const client = opened(await target.connect({ clock: clientClock, reconnect: { initialDelayMs: 0, maxDelayMs: 0 } }));
      const seen: string[] = [];
      const hung: (() => void)[] = [];
      const waitsRan = deferred();
      const hangsRan = deferred();
      const subscription = await client.subscribe(options, (message) => {
        seen.push(`${message.text()}#${message.deliveryCount}`);
        if (message.text() === 'waits') waitsRan.resolve();
        if (message.text() === 'hangs') hangsRan.resolve();
        return message.text() === 'hangs' ? new Promise<void>((resolve) => hung.push(resolve)) : undefined;
      });
      const [partition] = (await standing(client, options, subscription.memberId!)).owns;
      const first = deliveredTo(setting, subscription.memberId!);
      await target.broker.produce(options.topic, [{ partition, value: 'hangs' }]);
      await first;
      await hangsRan.promise; // handlers start a turn of the event loop after subscribe() resolved
      await standing(client, options, subscription.memberId!);
      expect(seen).toEqual(['hangs#1']);
      // The connection drops under the hung handler, which keeps its place in the window (its
      // delivery goes to the other member). The new member gets the partition back, and its
      // first message waits for that place until its lease runs out: TAKEN_BACK drops it.
      const rejoined = memberEvent(setting, 'rebalanced', (event) => event.reason === 'memberJoined');
      const down = new Promise((resolve) => client.once('disconnected', resolve));
      client.dropConnection();
      await down;
      await advance(clientClock, 0);
      const member = await rejoined;
      await deliverOne(setting, client, member, partition!, 'waits');
      await advance(clock, LEASE_MS);
      expect(await standing(client, options, member)).toEqual({ leaseLost: true, owns: [] });
      await advance(clock, 0);
      expect(await standing(client, options, member)).toEqual({ leaseLost: true, owns: [] });
      // The hung handler finishes: its ack, of the lost connection, is not sent; the place is free.
      hung.shift()!();
      await advance(clock, 0);
      expect(await standing(client, options, member)).toEqual({ leaseLost: false, owns: [partition] });
      await advance(clock, BACKOFF_MS);
      await waitsRan.promise; // the record comes again, to this member
      expect(seen).toEqual(['hangs#1', 'waits#2']);
      await subscription.close();
    });
  });
}
