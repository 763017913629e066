/**
 * A member whose connection is congested (the client stopped reading: past sendBufferBytesMax the
 * server holds DELIVER frames back) takes nothing new, and what the server held for it unsent is
 * no attempt when it is taken back (docs/protocol.md, "Credit"; docs/semantics.md, "Redelivery").
 * One connection stops reading, another reads, both members of one group on one broker.
 */
import { describe, expect, it } from 'vitest';
import { FrameKind, MemoryFileSystem, VirtualClock, decodeDeliveries, type DecodedDelivery } from '@brook/protocol';
import { Broker } from '../broker.js';
import { LIMITS } from '../config/defaults.js';
import { holdingSyncsOf } from '../log/log-fixture.js';
import type { BrokerEvents } from '../events.js';
import { sessionFixture, type SessionFixture } from './session-fixture.js';

const SEND_BUFFER_BYTES_MAX = LIMITS.sendBufferBytesMax.min;
/** Three DELIVER frames of one such record each fill a socket of SEND_BUFFER_BYTES_MAX. */
const RECORD_BYTES = 30_000;
const ACK_TIMEOUT_MS = 1000;

interface Connections {
  /** Stops reading once its member has joined. */
  readonly congested: SessionFixture;
  readonly reading: SessionFixture;
  /** Per offset, the member ids of its `delivered` events, in order. */
  readonly deliveredTo: Map<bigint, string[]>;
  readonly leaseExpired: bigint[];
  /** [offset, reason, nextDeliveryCount] of each `redelivered` event, in order. */
  readonly redelivered: [bigint, string, number][];
}

async function connections(topic: string, partitions = 1, world: { broker?: Broker; clock?: VirtualClock } = {}): Promise<Connections> {
  const congested = await sessionFixture({ ...world, limits: { sendBufferBytesMax: SEND_BUFFER_BYTES_MAX, deliverRecordsMax: 1 } });
  await congested.hello();
  const reading = await sessionFixture({ broker: congested.broker, clock: congested.clock });
  await reading.hello();
  await congested.ok('createTopic', { name: topic, partitions });
  const deliveredTo = new Map<bigint, string[]>();
  const leaseExpired: bigint[] = [];
  congested.broker.on('delivered', (event: Parameters<BrokerEvents['delivered']>[0]) => {
    deliveredTo.set(event.offset, [...(deliveredTo.get(event.offset) ?? []), event.member]);
  });
  congested.broker.on('leaseExpired', (event: Parameters<BrokerEvents['leaseExpired']>[0]) => void leaseExpired.push(event.offset));
  const redelivered: [bigint, string, number][] = [];
  congested.broker.on('redelivered', (event: Parameters<BrokerEvents['redelivered']>[0]) => {
    redelivered.push([event.offset, event.reason, event.nextDeliveryCount]);
  });
  return { congested, reading, deliveredTo, leaseExpired, redelivered };
}

/** `count` records that each make a DELIVER frame of a little over RECORD_BYTES. */
const bigRecords = (count: number) => Array.from({ length: count }, (_, i) => ({ value: `${i}`.padEnd(RECORD_BYTES, 'x') }));

/** Every delivery sent to `subscription` on `f` so far, in order. */
function sentTo(f: SessionFixture, subscription: unknown): DecodedDelivery[] {
  return f.peer.of(FrameKind.DELIVER).filter((frame) => frame.requestId === subscription)
    .flatMap((frame) => decodeDeliveries(frame.json['first'] as number, frame.json['count'] as number, frame.data));
}

/**
 * Subscribes with `args` on the congested connection, which stops reading, and fills its socket
 * with `count` big records: 3 are sent, the rest wait.
 */
async function congestedMember(c: Connections, args: Record<string, unknown>, count: number): Promise<Record<string, unknown>> {
  const joined = await c.congested.ok('subscribe', args);
  c.congested.peer.stopReading();
  await c.congested.broker.produce(args['topic'] as string, bigRecords(count));
  await c.congested.clock.advanceAsync(0);
  expect(c.congested.peer.bufferedAmount).toBeGreaterThan(SEND_BUFFER_BYTES_MAX);
  expect(sentTo(c.congested, joined['subscription'])).toHaveLength(3);
  return joined;
}

describe('a member whose connection is congested', () => {
  it('takes no new records: those produced afterwards all go to the member that reads', async () => {
    const topic = 'congested-takes-nothing';
    const c = await connections(topic);
    const settings = { topic, group: 'g-takes-nothing', ackTimeoutMs: ACK_TIMEOUT_MS };
    const slow = await congestedMember(c, { ...settings, maxInFlight: 10 }, 4);
    const fast = await c.reading.ok('subscribe', { ...settings, maxInFlight: 100 });
    // One at a time, so that 'none' deals each to the next member with credit in turn.
    for (let i = 0; i < 10; i++) {
      await c.congested.broker.produce(topic, [{ value: `later ${i}` }]);
      await c.congested.clock.advanceAsync(0);
    }
    const later = Array.from({ length: 10 }, (_, i) => c.deliveredTo.get(BigInt(4 + i)));
    expect(later).toEqual(Array.from({ length: 10 }, () => [fast['memberId']]));
    expect(sentTo(c.reading, fast['subscription']).map((d) => d.offset)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(4 + i)));
    expect(c.deliveredTo.get(3n)).toEqual([slow['memberId']]); // held, not sent: it is still its
  });

  it("maxDeliveries 1: what it held unsent is not dead-lettered when its leases run out (a 'redelivered' event, 'unsent', says so); the reading member gets it with deliveryCount 1", async () => {
    const topic = 'congested-max-deliveries';
    const c = await connections(topic);
    const group = 'g-max-deliveries';
    const settings = { topic, group, ackTimeoutMs: ACK_TIMEOUT_MS, maxDeliveries: 1 };
    await congestedMember(c, { ...settings, maxInFlight: 10 }, 6);
    const fast = await c.reading.ok('subscribe', { ...settings, maxInFlight: 100 });
    await c.congested.clock.advanceAsync(ACK_TIMEOUT_MS);
    // The 3 it was sent were attempts, its last allowed ones: dead-lettered. The 3 held were not.
    expect(c.leaseExpired).toEqual([0n, 1n, 2n]);
    expect(c.redelivered).toEqual([[3n, 'unsent', 1], [4n, 'unsent', 1], [5n, 'unsent', 1]]);
    const got = sentTo(c.reading, fast['subscription']);
    expect(got.map((d) => [d.offset, d.deliveryCount])).toEqual([[3n, 1], [4n, 1], [5n, 1]]);
    await c.reading.ok('settle', { subscription: fast['subscription'], ack: [[0, 2]] });
    const described = await c.reading.ok('describeGroup', { topic, group });
    expect(described).toMatchObject({ partitions: [{ ackFloor: '6', deadLettered: 3 }] });
  });

  it('ending its connection gives what it held unsent back: the reading member gets it with deliveryCount 1, not dead-lettered at maxDeliveries 1', async () => {
    const topic = 'congested-disconnects';
    const c = await connections(topic);
    const group = 'g-disconnects';
    const settings = { topic, group, ackTimeoutMs: ACK_TIMEOUT_MS, maxDeliveries: 1 };
    await congestedMember(c, { ...settings, maxInFlight: 10 }, 5);
    const fast = await c.reading.ok('subscribe', { ...settings, maxInFlight: 100 });
    c.congested.session.disconnected();
    await c.congested.clock.advanceAsync(0);
    const got = sentTo(c.reading, fast['subscription']);
    expect(got.map((d) => [d.offset, d.deliveryCount])).toEqual([[3n, 1], [4n, 1]]);
  });

  it('what it held is an attempt like any other once sent: its lease running out then counts', async () => {
    const topic = 'congested-sent-later';
    const c = await connections(topic);
    const slow = await congestedMember(c, { topic, group: 'g-sent-later', ackTimeoutMs: ACK_TIMEOUT_MS, maxInFlight: 10 }, 4);
    c.congested.drain();
    await c.congested.clock.advanceAsync(0);
    expect(sentTo(c.congested, slow['subscription']).map((d) => d.offset)).toEqual([0n, 1n, 2n, 3n]);
    await c.congested.clock.advanceAsync(ACK_TIMEOUT_MS);
    expect(c.leaseExpired).toEqual([0n, 1n, 2n, 3n]);
  });

  it("resumes once its socket drains ('partition': it keeps its partition meanwhile, which waits; describeGroup shows it paused): what it held goes out in order", async () => {
    const topic = 'congested-resumes';
    const c = await connections(topic);
    const group = 'g-resumes';
    const settings = { topic, group, ordering: 'partition', ackTimeoutMs: ACK_TIMEOUT_MS };
    const slow = await congestedMember(c, { ...settings, maxInFlight: 10 }, 5);
    const fast = await c.reading.ok('subscribe', { ...settings, maxInFlight: 10 });
    const describe = () => c.reading.ok('describeGroup', { topic, group });
    const pausedOf = async () => ((await describe())['members'] as { id: string; paused: boolean }[]).map((m) => [m.id, m.paused]);
    expect(await describe()).toMatchObject({ partitions: [{ owner: slow['memberId'] }] });
    expect(await pausedOf()).toEqual([[slow['memberId'], true], [fast['memberId'], false]]);
    await c.congested.broker.produce(topic, [{ value: 'later' }]);
    await c.congested.clock.advanceAsync(ACK_TIMEOUT_MS / 2);
    expect(sentTo(c.reading, fast['subscription'])).toEqual([]);
    expect(sentTo(c.congested, slow['subscription'])).toHaveLength(3);

    // The client reads again, a socketful at a time, within its leases.
    for (let drains = 0; sentTo(c.congested, slow['subscription']).length < 6; drains++) {
      expect(drains, 'the member never resumed').toBeLessThan(10);
      c.congested.drain();
      await c.congested.clock.advanceAsync(0);
    }
    const all = sentTo(c.congested, slow['subscription']);
    expect(all.map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 1], [1n, 1], [2n, 1], [3n, 1], [4n, 1], [5n, 1]]);
    await c.congested.ok('settle', { subscription: slow['subscription'], ack: [[all[0]!.deliveryId, all.at(-1)!.deliveryId]] });
    expect(await describe()).toMatchObject({ partitions: [{ owner: slow['memberId'], ackFloor: '6', deadLettered: 0, redeliveries: 0 }] });
    expect(await pausedOf()).toEqual([[slow['memberId'], false], [fast['memberId'], false]]);
  });

  it("'partition': once leases of what it was sent run out, it loses its partition to the member that reads, which gets what it held unsent with deliveryCount 1", async () => {
    const topic = 'congested-lease-lost';
    const c = await connections(topic);
    const group = 'g-lease-lost';
    const settings = { topic, group, ordering: 'partition', ackTimeoutMs: ACK_TIMEOUT_MS, backoff: { initialMs: 0, maxMs: 0 } };
    const slow = await congestedMember(c, { ...settings, maxInFlight: 10 }, 5);
    const fast = await c.reading.ok('subscribe', { ...settings, maxInFlight: 10 });
    const describe = () => c.reading.ok('describeGroup', { topic, group });
    // Leases of the 3 sent and the 2 held run out: the sent ones come again (go-back), the held ones are given back.
    await c.congested.clock.advanceAsync(ACK_TIMEOUT_MS);
    await c.congested.broker.produce(topic, [{ value: 'later' }]);
    await c.congested.clock.advanceAsync(0);
    expect(c.leaseExpired).toEqual([0n]);
    expect(await describe()).toMatchObject({ partitions: [{ owner: fast['memberId'] }] });
    const again = sentTo(c.reading, fast['subscription']);
    expect(again.map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 2], [1n, 2], [2n, 2], [3n, 1], [4n, 1], [5n, 1]]);
    await c.reading.ok('settle', { subscription: fast['subscription'], ack: [[again[0]!.deliveryId, again.at(-1)!.deliveryId]] });
    // 3 attempts that failed (lease expiry, go-back) and 2 held ones given back ('unsent').
    expect(await describe()).toMatchObject({ partitions: [{ ackFloor: '6', deadLettered: 0, redeliveries: 5 }] });
    // Its client reads again and settles what it had (stale now): it is back, and the partition stays put.
    c.congested.drain();
    await c.congested.clock.advanceAsync(0);
    const stale = sentTo(c.congested, slow['subscription']);
    await c.congested.ok('settle', { subscription: slow['subscription'], ack: [[stale[0]!.deliveryId, stale.at(-1)!.deliveryId]] });
    expect(await describe()).toMatchObject({ partitions: [{ owner: fast['memberId'] }] });
  });

  it('a delivery being journaled for it when its connection fills up goes to a member with room instead', async () => {
    const clock = new VirtualClock();
    const syncs = holdingSyncsOf(new MemoryFileSystem(), (path) => path.includes('/g-journaled-meanwhile/journal-'));
    const broker = await Broker.open({ dataDir: '/data', fs: syncs.fs, fsync: 'always', clock });
    const c = await connections('filler', 1, { broker, clock });
    const topic = 'journaled-meanwhile';
    await c.congested.ok('createTopic', { name: topic });
    const settings = { topic, group: 'g-journaled-meanwhile', ackTimeoutMs: ACK_TIMEOUT_MS };
    const filler = await c.congested.ok('subscribe', { topic: 'filler', group: 'g-filler' });
    const slow = await c.congested.ok('subscribe', { ...settings, maxInFlight: 10 });
    const fast = await c.reading.ok('subscribe', { ...settings, maxInFlight: 10 });
    c.congested.peer.stopReading();
    syncs.hold();
    await broker.produce(topic, [{ value: 'dealt to the first member' }]);
    while (syncs.state.held === 0) await clock.advanceAsync(0);
    // While its attempt is journaled, another subscription of the connection fills the socket.
    await broker.produce('filler', bigRecords(4));
    await clock.advanceAsync(0);
    expect(sentTo(c.congested, filler['subscription'])).toHaveLength(3);
    syncs.release();
    await clock.advanceAsync(0);
    // Now, not once its lease has run out: it never reached the member whose socket is full.
    expect(sentTo(c.reading, fast['subscription']).map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 1]]);
    c.congested.drain();
    await clock.advanceAsync(0);
    expect(sentTo(c.congested, slow['subscription'])).toEqual([]);
  });

  it('a subscription still joining as its connection fills up and drains joins all the same (nothing to pause yet), and delivers once it has', async () => {
    const c = await connections('filled-while-joining');
    const topic = 'filled-while-joining';
    const filler = await c.congested.ok('subscribe', { topic, group: 'g-filler' });
    // The second subscribe's join waits until the socket has filled and drained.
    let joined = (): void => undefined;
    const attach = c.congested.broker.attach.bind(c.congested.broker);
    c.congested.broker.attach = async (...args) => {
      await new Promise<void>((resolve) => (joined = resolve));
      return attach(...args);
    };
    const joining = c.congested.ok('subscribe', { topic, group: 'g-joining' });
    c.congested.peer.stopReading();
    await c.congested.broker.produce(topic, bigRecords(4));
    await c.congested.clock.advanceAsync(0);
    expect(c.congested.peer.bufferedAmount).toBeGreaterThan(SEND_BUFFER_BYTES_MAX);
    c.congested.drain();
    await c.congested.clock.advanceAsync(0);
    expect(sentTo(c.congested, filler['subscription'])).toHaveLength(4);
    joined();
    const late = await joining;
    for (let i = 0; i < 3; i++) {
      c.congested.drain();
      await c.congested.clock.advanceAsync(0);
    }
    expect(sentTo(c.congested, late['subscription']).map((d) => d.offset)).toEqual([0n, 1n, 2n, 3n]);
  });
});
