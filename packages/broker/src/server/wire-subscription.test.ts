import { describe, expect, it } from 'vitest';
import { DELIVER_FRAME_OVERHEAD_BYTES_MAX, encodeDeliverFrame } from '@brook/protocol';
import { SINK_ID, type Delivery } from '../groups/delivery.js';
import { WireSubscription, frameChunks } from './wire-subscription.js';

/** takeRange's deliveries as a list, checking they come in increasing id order. */
function takeRange(subscription: WireSubscription, first: number, last: number): Delivery[] {
  const taken: Delivery[] = [];
  let previous = -1;
  subscription.takeRange(first, last, (id, delivery) => {
    expect(id).toBeGreaterThan(previous);
    expect(id).toBeGreaterThanOrEqual(first);
    expect(id).toBeLessThanOrEqual(last);
    previous = id;
    taken.push(delivery);
  });
  return taken;
}

/** A delivery whose stored record takes `recordBytes` bytes. */
const delivery = (recordBytes = 10): Delivery => ({ record: { sourceStart: 0, sourceEnd: recordBytes }, extend: () => undefined, [SINK_ID]: -1 }) as unknown as Delivery;

describe('WireSubscription', () => {
  it('forgets ids whose lease certainly ran out once more than 2 × maxInFlight are outstanding', () => {
    const subscription = new WireSubscription(1, { topic: 't', group: 'g', maxInFlight: 2, ackTimeoutMs: 100 });
    subscription.track(0, [delivery(), delivery(), delivery(), delivery()], 0);
    expect(subscription.outstanding).toBe(4);
    subscription.extend(3, 1000, 0); // renewed: stays
    subscription.track(4, [delivery()], 201);
    expect(subscription.outstanding).toBe(2);
    expect(takeRange(subscription, 0, 10).length).toBe(2);
  });

  it('finds ids across frames settled out of order, with gaps and ranges wider than what is held', () => {
    const subscription = new WireSubscription(1, { topic: 't', group: 'g', maxInFlight: 1000, ackTimeoutMs: 100 });
    const sent = Array.from({ length: 100 }, () => delivery());
    // Frames of 1, 2, 3, ... deliveries, with an id gap between frames (ids of other subscriptions).
    let id = 0;
    for (let size = 1, at = 0; at < sent.length; size++) {
      subscription.track(id, sent.slice(at, at + size), 0);
      id += size + 5;
      at += size;
    }
    expect(subscription.outstanding).toBe(100);
    expect(subscription.take(0)).toBe(sent[0]);
    expect(subscription.take(0)).toBeUndefined();
    expect(subscription.take(3)).toBeUndefined(); // in a gap
    const middle = takeRange(subscription, 50, 60);
    expect(middle.length).toBeGreaterThan(0);
    const rest = takeRange(subscription, 0, Number.MAX_SAFE_INTEGER);
    expect(subscription.outstanding).toBe(0);
    expect(new Set([sent[0], ...middle, ...rest]).size).toBe(100);
    expect(1 + middle.length + rest.length).toBe(100);
  });

  it('keeps settling correctly while an early id is never settled', () => {
    const subscription = new WireSubscription(1, { topic: 't', group: 'g', maxInFlight: 1000, ackTimeoutMs: 100 });
    const stuck = delivery();
    subscription.track(0, [stuck], 0);
    for (let id = 1; id < 500; id++) {
      const sent = delivery();
      subscription.track(id, [sent], 0);
      expect(takeRange(subscription, id, id)).toEqual([sent]);
    }
    expect(subscription.outstanding).toBe(1);
    expect(subscription.take(0)).toBe(stuck);
  });

  it('keeps everything while at most 2 × maxInFlight are outstanding, however old', () => {
    const subscription = new WireSubscription(1, { topic: 't', group: 'g', maxInFlight: 2, ackTimeoutMs: 100 });
    subscription.track(0, [delivery(), delivery(), delivery()], 0);
    subscription.track(3, [delivery()], 10_000);
    expect(subscription.outstanding).toBe(4);
  });

  it('forgets an id only once its lease ran out a whole ackTimeoutMs ago: 2 × ackTimeoutMs after it was sent, or after its extension', () => {
    const sentAt0 = () => {
      const subscription = new WireSubscription(1, { topic: 't', group: 'g', maxInFlight: 1, ackTimeoutMs: 100 });
      subscription.track(0, [delivery(), delivery()], 0);
      return subscription;
    };
    const atTheLimit = sentAt0();
    atTheLimit.track(2, [delivery()], 200);
    expect(atTheLimit.outstanding).toBe(3);
    const pastIt = sentAt0();
    pastIt.track(2, [delivery()], 201);
    expect(pastIt.outstanding).toBe(1);
    // Extended at 50 for 1000 ms: its lease runs out at 1050, so it stays until 1150.
    const extended = sentAt0();
    extended.extend(1, 1000, 50);
    extended.track(2, [delivery()], 1150);
    expect(extended.outstanding).toBe(2);
    extended.track(3, [delivery()], 1151);
    expect(takeRange(extended, 0, 1)).toEqual([]);
  });

  it('extends the delivery the id names, in any frame; an id not outstanding is ignored', () => {
    const subscription = new WireSubscription(1, { topic: 't', group: 'g', maxInFlight: 10, ackTimeoutMs: 100 });
    const extended: number[] = [];
    const watched = (mark: number): Delivery => ({ ...delivery(), extend: () => void extended.push(mark) }) as unknown as Delivery;
    subscription.track(5, [watched(5), watched(6)], 0);
    subscription.track(20, [watched(20), watched(21)], 0);
    subscription.extend(21, 500, 0);
    subscription.extend(6, undefined, 0);
    expect(extended).toEqual([21, 6]);
    subscription.take(20);
    for (const id of [0, 4, 7, 20, 22]) subscription.extend(id, 500, 0); // before, between, settled, after
    expect(extended).toEqual([21, 6]);
    expect(subscription.footprint).toBe(2 + 2); // two frames, two extended ids
  });

  it("tells a tail reader's loss to retention once: each frame carries what was lost since the last", () => {
    const subscription = new WireSubscription(1, { topic: 't' });
    const handle = { lostToRetention: 0n };
    subscription.handle = handle as unknown as WireSubscription['handle'];
    expect(subscription.takeNewlyLost()).toBe(0n);
    handle.lostToRetention = 5n;
    expect(subscription.takeNewlyLost()).toBe(5n);
    expect(subscription.takeNewlyLost()).toBe(0n);
    handle.lostToRetention = 7n;
    expect(subscription.takeNewlyLost()).toBe(2n);
  });

  it('holds what is outstanding, not what was sent: emptied frames and settled extensions are dropped, an early id never settled included', () => {
    const subscription = new WireSubscription(1, { topic: 't', group: 'g', maxInFlight: 1000, ackTimeoutMs: 100 });
    const stuck = delivery();
    subscription.track(0, [stuck], 0);
    for (let id = 1; id < 1000; id += 2) {
      subscription.track(id, [delivery(), delivery()], 0);
      subscription.extend(id, 1000, 0);
      subscription.take(id + 1);
      expect(takeRange(subscription, id, id).length).toBe(1);
      expect(subscription.footprint).toBeLessThanOrEqual(64);
    }
    expect(subscription.outstanding).toBe(1);
    expect(subscription.take(0)).toBe(stuck);
    expect(subscription.footprint).toBe(0);
    // Without a stuck id, each frame goes as it empties.
    subscription.track(2000, [delivery(), delivery()], 0);
    subscription.track(2002, [delivery()], 0);
    subscription.take(2000);
    subscription.take(2001);
    expect(subscription.footprint).toBe(1);
  });

  it('finds what was taken back by its id, without looking at the other outstanding deliveries', () => {
    const subscription = new WireSubscription(1, { topic: 't', group: 'g', maxInFlight: 1000, ackTimeoutMs: 100 });
    let looked = 0;
    const watched = (): Delivery => Object.defineProperty(delivery(), 'stale', { get: () => ++looked > 0 });
    const sent = Array.from({ length: 1000 }, watched);
    subscription.track(0, sent.slice(0, 500), 0);
    subscription.track(600, sent.slice(500), 0);
    const settled = sent[3]!;
    expect(subscription.take(3)).toBe(settled);
    const unsent = watched();
    // One settled before its take-back is told and one never sent are skipped; the rest are named, in order.
    for (const taken of [sent[701]!, settled, unsent, sent[700]!, sent[10]!]) subscription.tookBack(taken);
    expect(subscription.hasTakenBack).toBe(true);
    expect(subscription.takeTakenBack()).toEqual([[10, 10], [800, 801]]);
    expect(looked).toBe(0);
    expect(subscription.hasTakenBack).toBe(false);
    expect(subscription.outstanding).toBe(996);
    expect(subscription.take(800)).toBeUndefined();
  });
});

describe('frameChunks', () => {
  it('cuts at recordsMax records and at bytesMax bytes (DELIVER_FRAME_OVERHEAD_BYTES_MAX for the frame, 24 an entry); a lone large record goes alone', () => {
    expect(frameChunks([delivery(), delivery(), delivery()], 2, 1 << 20).map((c) => c.length)).toEqual([2, 1]);
    const twoOf400 = DELIVER_FRAME_OVERHEAD_BYTES_MAX + 2 * (24 + 400);
    expect(frameChunks([delivery(400), delivery(400), delivery(400)], 100, twoOf400).map((c) => c.length)).toEqual([2, 1]);
    expect(frameChunks([delivery(400), delivery(400), delivery(400)], 100, twoOf400 - 1).map((c) => c.length)).toEqual([1, 1, 1]);
    expect(frameChunks([delivery(1), delivery(5000), delivery(1)], 100, 1024).map((c) => c.length)).toEqual([1, 1, 1]);
    expect(frameChunks([delivery(5000), delivery(1)], 100, 1024).map((c) => c.length)).toEqual([1, 1]);
  });

  it("keeps each frame of several records within bytesMax, header and json counted, whatever its first id and a tail reader's lostToRetention", () => {
    const record = (bytes: number) => ({ source: new Uint8Array(bytes), sourceStart: 0, sourceEnd: bytes, offset: 0n, timestamp: 0 });
    const deliveries = Array.from({ length: 40 }, (_, i) => ({ ...delivery(), record: record(100 + i), partition: 0, deliveryCount: 1 }) as unknown as Delivery);
    for (let bytesMax = 300; bytesMax < 1200; bytesMax += 7) {
      for (const chunk of frameChunks(deliveries, 10_000, bytesMax).filter((c) => c.length > 1)) {
        const frame = encodeDeliverFrame(0xffffffff, Number.MAX_SAFE_INTEGER - chunk.length, chunk, (1n << 63n) - 1n);
        expect(frame.length, `bytesMax ${bytesMax}`).toBeLessThanOrEqual(bytesMax);
      }
    }
  });
});
