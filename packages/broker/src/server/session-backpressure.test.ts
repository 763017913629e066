/**
 * Backpressure on what the server sends: a client that stops reading its socket makes the peer's
 * bufferedAmount grow, and past sendBufferBytesMax the session starts no request, stops reading
 * and holds DELIVER frames back until the socket drains. (requestsInFlightMax: session-handshake.)
 */
import { describe, expect, it } from 'vitest';
import { FrameKind, decodeDeliveries, type Frame } from '@brook/protocol';
import { LIMITS } from '../config/defaults.js';
import { batchOf, sessionFixture, type SessionFixture } from './session-fixture.js';

const SEND_BUFFER_BYTES_MAX = LIMITS.sendBufferBytesMax.min;
/** A record that makes a fetch answer or a DELIVER frame a little over 30 KB. */
const RECORD_BYTES = 30_000;

async function withBigRecords(count: number, limits: Parameters<typeof sessionFixture>[0] = {}): Promise<SessionFixture> {
  const f = await sessionFixture(limits);
  await f.hello();
  await f.ok('createTopic', { name: 't' });
  await f.ok('produce', { topic: 't', partition: 0 }, batchOf(Array.from({ length: count }, (_, i) => `${i}`.padEnd(RECORD_BYTES, 'x'))));
  return f;
}

const answers = (f: SessionFixture): Frame[] => f.peer.frames.filter((frame) => frame.kind === FrameKind.RESPONSE && frame.json['count'] === 1);

describe('sendBufferBytesMax', () => {
  it('a peer holding exactly that many unread bytes still gets answers; one byte more holds requests until it drains', async () => {
    const f = await sessionFixture({ limits: { sendBufferBytesMax: SEND_BUFFER_BYTES_MAX } });
    await f.hello();
    f.peer.bufferedAmount = SEND_BUFFER_BYTES_MAX;
    await f.ok('listTopics');
    expect(f.peer.paused).toBe(false);
    f.peer.bufferedAmount = SEND_BUFFER_BYTES_MAX + 1;
    let answered = false;
    const held = f.request('listTopics').then((frame) => ((answered = true), frame));
    await f.clock.advanceAsync(0);
    expect([f.peer.paused, answered]).toEqual([true, false]);
    f.drain();
    expect((await held).kind).toBe(FrameKind.RESPONSE);
    expect(f.peer.paused).toBe(false);
  });

  it('pipelined fetches whose answers are never read: the unread bytes stay bounded, and all are answered as the client reads', async () => {
    const requestsInFlightMax = 2;
    const f = await withBigRecords(1, { limits: { sendBufferBytesMax: SEND_BUFFER_BYTES_MAX, requestsInFlightMax } });
    f.peer.stopReading();
    const fetches = 20;
    for (let i = 0; i < fetches; i++) void f.request('fetch', { topic: 't', partition: 0, offset: '0' });
    // Past the limit nothing new starts; the answers already under way (at most
    // requestsInFlightMax) still go out.
    const bound = SEND_BUFFER_BYTES_MAX + requestsInFlightMax * (RECORD_BYTES + 200);
    let reads = 0;
    for (;;) {
      await f.clock.advanceAsync(0);
      expect(f.peer.bufferedAmount).toBeLessThanOrEqual(bound);
      if (answers(f).length === fetches) break;
      expect(f.peer.paused).toBe(true);
      f.drain();
      reads += 1;
    }
    expect(reads).toBeGreaterThan(1);
    f.drain();
    expect(f.peer.paused).toBe(false);
  });
});

describe('DELIVER under a congested socket', () => {
  it('a member that stops reading gets no more frames past sendBufferBytesMax, however often its leases expire', async () => {
    const f = await withBigRecords(10, { limits: { sendBufferBytesMax: SEND_BUFFER_BYTES_MAX, deliverRecordsMax: 1 } });
    const ackTimeoutMs = 100;
    f.peer.stopReading();
    const { subscription } = await f.ok('subscribe', { topic: 't', group: 'g', maxInFlight: 10, ackTimeoutMs, backoff: { initialMs: 0, maxMs: 0 } });
    await f.clock.advanceAsync(0);
    const sentBeforeExpiry = f.peer.of(FrameKind.DELIVER).length;
    expect(sentBeforeExpiry).toBeLessThan(10);
    for (let lease = 0; lease < 20; lease++) await f.clock.advanceAsync(ackTimeoutMs);
    expect(f.peer.of(FrameKind.DELIVER)).toHaveLength(sentBeforeExpiry);
    expect(f.peer.bufferedAmount).toBeLessThanOrEqual(SEND_BUFFER_BYTES_MAX + RECORD_BYTES + 200);

    // The client reads again: what was held comes, without the deliveries that went stale meanwhile
    // (acking those would answer `stale`).
    const acked = new Set<bigint>();
    let seen = sentBeforeExpiry;
    while (acked.size < 10) {
      f.drain();
      await f.clock.advanceAsync(0);
      const frames = f.peer.of(FrameKind.DELIVER).slice(seen);
      expect(frames.length).toBeGreaterThan(0);
      seen += frames.length;
      for (const frame of frames) {
        f.drain(); // the client reads what came, so its settle is not held behind it
        const first = frame.json['first'] as number;
        const count = frame.json['count'] as number;
        expect(await f.ok('settle', { subscription, ack: [[first, first + count - 1]] })).toEqual({});
        for (const delivery of decodeDeliveries(first, count, frame.data)) acked.add(delivery.offset);
      }
    }
  });
});

describe('requests held by a congested socket', () => {
  it('an abort sent after settles waits behind them: what they ack stays acked, nothing is redelivered', async () => {
    const f = await withBigRecords(3, { limits: { sendBufferBytesMax: SEND_BUFFER_BYTES_MAX } });
    const { subscription } = await f.ok('subscribe', { topic: 't', group: 'g', maxInFlight: 10 });
    await f.clock.advanceAsync(0);
    const delivered = f.peer.of(FrameKind.DELIVER).reduce((sum, frame) => sum + (frame.json['count'] as number), 0);
    expect(delivered).toBe(3);
    f.peer.bufferedAmount = SEND_BUFFER_BYTES_MAX + 1; // the client stopped reading for a moment
    const settled = f.request('settle', { subscription, ack: [[0, 2]] });
    const aborted = f.request('unsubscribe', { subscription, abort: true });
    await f.clock.advanceAsync(0);
    f.drain();
    expect((await settled).json).toEqual({});
    expect((await aborted).kind).toBe(FrameKind.RESPONSE);
    const group = await f.ok('describeGroup', { topic: 't', group: 'g' });
    expect(group).toMatchObject({ members: [], partitions: [{ lag: '0', ackFloor: '3' }] });
  });

  it('once the socket has room again, held requests start before new DELIVER frames go out (no drain needed)', async () => {
    const f = await withBigRecords(1, { limits: { sendBufferBytesMax: SEND_BUFFER_BYTES_MAX } });
    await f.ok('subscribe', { topic: 't', group: 'g', maxInFlight: 10 });
    await f.clock.advanceAsync(0);
    f.peer.bufferedAmount = SEND_BUFFER_BYTES_MAX + 1;
    let answered = false;
    const held = f.request('listTopics').then((frame) => ((answered = true), frame));
    await f.clock.advanceAsync(0);
    expect(answered).toBe(false);
    // The client read part of its buffer: below the limit, but a socket emits 'drain' only when empty.
    f.peer.bufferedAmount = SEND_BUFFER_BYTES_MAX - 1000;
    const deliversBefore = f.peer.of(FrameKind.DELIVER).length;
    await f.broker.produce('t', [{ value: 'new' }]);
    await f.clock.advanceAsync(0);
    expect(f.peer.of(FrameKind.DELIVER).length).toBe(deliversBefore + 1);
    expect(answered).toBe(true);
    expect((await held).kind).toBe(FrameKind.RESPONSE);
  });

  it('one subscription with more than the socket takes does not starve another on the same connection', async () => {
    const f = await sessionFixture({ limits: { sendBufferBytesMax: SEND_BUFFER_BYTES_MAX, deliverRecordsMax: 1 } });
    await f.hello();
    await f.ok('createTopic', { name: 'big' });
    await f.ok('createTopic', { name: 'small' });
    await f.ok('subscribe', { topic: 'big', group: 'big-starver', maxInFlight: 20 });
    const { subscription: small } = await f.ok('subscribe', { topic: 'small', group: 'small-starved' });
    f.peer.stopReading();
    await f.broker.produce('big', Array.from({ length: 20 }, (_, i) => ({ value: `${i}`.padEnd(RECORD_BYTES, 'x') })));
    await f.clock.advanceAsync(0);
    expect(f.peer.bufferedAmount).toBeGreaterThan(SEND_BUFFER_BYTES_MAX);
    await f.broker.produce('small', [{ value: 'me too' }]);
    const smallFrames = () => f.peer.of(FrameKind.DELIVER).filter((frame) => frame.requestId === small); // DELIVER names its subscription there
    // Congested, the connection's members take nothing new; 'small' gets its record once what
    // 'big' held has gone out, not after 'big' has taken more.
    let drains = 0;
    for (; smallFrames().length === 0; drains++) {
      expect(drains, 'the subscription holding more than the socket takes starved the other').toBeLessThan(20);
      f.drain();
      await f.clock.advanceAsync(0);
    }
    expect(drains).toBeGreaterThan(1);
    expect(f.peer.of(FrameKind.DELIVER).length - smallFrames().length).toBe(20);
  });
});

describe('several subscriptions with frames waiting on a congested socket', () => {
  it('the one that filled the socket goes to the back of the line: the next drain serves the others first', async () => {
    const f = await sessionFixture({ limits: { sendBufferBytesMax: SEND_BUFFER_BYTES_MAX, deliverRecordsMax: 1 } });
    await f.hello();
    await f.ok('createTopic', { name: 'shared' });
    const { subscription: first } = await f.ok('subscribe', { topic: 'shared', group: 'line-first', maxInFlight: 20 });
    const { subscription: second } = await f.ok('subscribe', { topic: 'shared', group: 'line-second', maxInFlight: 1 });
    f.peer.stopReading();
    // One produce: both members are handed records in one step, so both have frames waiting.
    await f.broker.produce('shared', Array.from({ length: 20 }, (_, i) => ({ value: `${i}`.padEnd(RECORD_BYTES, 'x') })));
    await f.clock.advanceAsync(0);
    const framesOf = (subscription: unknown) => f.peer.of(FrameKind.DELIVER).filter((frame) => frame.requestId === subscription).length;
    expect([framesOf(first) > 0, framesOf(second)]).toEqual([true, 0]);
    f.drain();
    await f.clock.advanceAsync(0);
    expect(framesOf(second)).toBe(1);
    expect(framesOf(first)).toBeLessThan(20);
  });
});
