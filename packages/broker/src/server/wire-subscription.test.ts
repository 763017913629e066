import { describe, expect, it } from 'vitest';
import type { Delivery } from '../groups/delivery.js';
import { WireSubscription, frameChunks } from './wire-subscription.js';

const delivery = (valueBytes = 1): Delivery => ({ key: null, value: new Uint8Array(valueBytes), headers: [], extend: () => undefined }) as unknown as Delivery;

describe('WireSubscription', () => {
  it('forgets ids whose lease certainly ran out once more than 2 × maxInFlight are outstanding', () => {
    const subscription = new WireSubscription(1, { topic: 't', group: 'g', maxInFlight: 2, ackTimeoutMs: 100 });
    subscription.track(0, [delivery(), delivery(), delivery(), delivery()], 0);
    expect(subscription.outstanding).toBe(4);
    subscription.extend(3, 1000, 0); // renewed: stays
    subscription.track(4, [delivery()], 201);
    expect(subscription.outstanding).toBe(2);
    expect(subscription.takeRange(0, 10).length).toBe(2);
  });

  it('keeps everything while at most 2 × maxInFlight are outstanding, however old', () => {
    const subscription = new WireSubscription(1, { topic: 't', group: 'g', maxInFlight: 2, ackTimeoutMs: 100 });
    subscription.track(0, [delivery(), delivery(), delivery(), delivery()], 0);
    subscription.track(4, [], 10_000);
    expect(subscription.outstanding).toBe(4);
  });
});

describe('frameChunks', () => {
  it('cuts at recordsMax records and at about bytesMax bytes; a lone large record goes alone', () => {
    expect(frameChunks([delivery(), delivery(), delivery()], 2, 1 << 20).map((c) => c.length)).toEqual([2, 1]);
    expect(frameChunks([delivery(400), delivery(400), delivery(5000), delivery(1)], 100, 1024).map((c) => c.length)).toEqual([1, 1, 1, 1]);
    expect(frameChunks([delivery(100), delivery(100), delivery(100)], 100, 1024).map((c) => c.length)).toEqual([3]);
  });
});
