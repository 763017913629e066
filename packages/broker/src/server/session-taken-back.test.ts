/**
 * TAKEN_BACK (docs/protocol.md, "Taken back"): a delivery the broker takes back after sending it
 * is told to a client that asked for the feature, batched as id ranges, one frame per
 * subscription per flush; an acked delivery costs no frame, and an older client gets none.
 */
import { describe, expect, it } from 'vitest';
import { FrameKind, PROTOCOL_VERSION, type Frame } from '@brook/protocol';
import { LIMITS } from '../config/defaults.js';
import { batchOf, sessionFixture, type SessionFixture } from './session-fixture.js';

const LEASE_MS = 1_000;
const NO_BACKOFF = { initialMs: 0, maxMs: 0, multiplier: 1, jitter: 0 };

async function subscribed(options: { features?: string[]; ordering?: string; records?: number } = {}): Promise<{ f: SessionFixture; sub: number; ids: number[] }> {
  const f = await sessionFixture();
  await f.hello({ version: PROTOCOL_VERSION, client: 'test', ...(options.features && { features: options.features }) });
  await f.ok('createTopic', { name: 't' });
  await f.ok('produce', { topic: 't', partition: 0 }, batchOf(Array.from({ length: options.records ?? 4 }, (_, i) => `r${i}`)));
  const { subscription } = await f.ok('subscribe', { topic: 't', group: 'g', ordering: options.ordering ?? 'none', ackTimeoutMs: LEASE_MS, backoff: NO_BACKOFF });
  const sub = subscription as number;
  const ids = (await f.deliveries(sub)).map((delivery) => delivery.deliveryId);
  return { f, sub, ids };
}

const takenBack = (f: SessionFixture): Frame[] => f.peer.of(FrameKind.TAKEN_BACK);

describe('TAKEN_BACK', () => {
  it('names the sent deliveries whose leases ran out, in one frame of ranges, before their redelivery; acked ones cost nothing', async () => {
    const { f, sub, ids } = await subscribed({ features: ['takenBack'] });
    expect(ids).toEqual([0, 1, 2, 3]);
    await f.ok('settle', { subscription: sub, ack: [[0, 0], [2, 2]] });
    await f.clock.advanceAsync(LEASE_MS);
    const frames = takenBack(f);
    expect(frames.map((frame) => [frame.requestId, frame.json])).toEqual([[sub, { ids: [[1, 1], [3, 3]] }]]);
    // Sent ahead of the DELIVER that brings the records again.
    const redelivery = await f.peer.next((frame) => frame.kind === FrameKind.DELIVER && frame.requestId === sub);
    expect(f.peer.frames.indexOf(frames[0]!)).toBeLessThan(f.peer.frames.indexOf(redelivery));
    // Told once: no longer outstanding, so a late ack is stale as before.
    expect(await f.ok('settle', { subscription: sub, ack: [[1, 1]] })).toEqual({ stale: [[1, 1]] });
    await f.ok('settle', { subscription: sub, ack: [[4, 5]] });
    await f.clock.advanceAsync(2 * LEASE_MS);
    expect(takenBack(f)).toHaveLength(1);
  });

  it('names exactly the one delivery taken back among many outstanding', async () => {
    const { f, sub, ids } = await subscribed({ features: ['takenBack'], records: 50 });
    expect(ids).toHaveLength(50);
    // Every lease but id 17's is renewed, so only 17's runs out.
    const extend = ids.filter((id) => id !== 17).map((id) => [id, 2 * LEASE_MS]);
    await f.ok('settle', { subscription: sub, extend });
    await f.clock.advanceAsync(LEASE_MS);
    expect(takenBack(f).map((frame) => [frame.requestId, frame.json])).toEqual([[sub, { ids: [[17, 17]] }]]);
    // The others are still outstanding: acking them takes effect.
    expect(await f.ok('settle', { subscription: sub, ack: [[0, 16], [18, 49]] })).toEqual({});
  });

  it("'partition': the go-back's later deliveries are in the same frame as the one whose lease ran out", async () => {
    const { f, sub } = await subscribed({ features: ['takenBack'], ordering: 'partition' });
    await f.ok('settle', { subscription: sub, ack: [[0, 0]], extend: [[2, 2 * LEASE_MS], [3, 2 * LEASE_MS]] });
    await f.clock.advanceAsync(LEASE_MS);
    // 1's lease ran out; 2 and 3, extended, go back with it all the same.
    expect(takenBack(f).map((frame) => frame.json)).toEqual([{ ids: [[1, 3]] }]);
  });

  it('names only what was sent: a delivery held unsent behind a congested socket is dropped, not told; the notice itself is not held', async () => {
    const f = await sessionFixture({ limits: { sendBufferBytesMax: LIMITS.sendBufferBytesMax.min, deliverRecordsMax: 1 } });
    await f.hello({ version: PROTOCOL_VERSION, client: 'test', features: ['takenBack'] });
    await f.ok('createTopic', { name: 't' });
    // Each record makes a DELIVER frame of a third of the socket: the fourth and fifth wait.
    await f.ok('produce', { topic: 't', partition: 0 }, batchOf(Array.from({ length: 5 }, (_, i) => `${i}`.padEnd(LIMITS.sendBufferBytesMax.min / 3, 'x'))));
    const { subscription } = await f.ok('subscribe', { topic: 't', group: 'g', ackTimeoutMs: LEASE_MS, backoff: NO_BACKOFF });
    f.peer.stopReading();
    await f.clock.advanceAsync(0);
    const sent = f.peer.of(FrameKind.DELIVER).map((frame) => frame.json['first']);
    expect(sent).toEqual([0, 1, 2]);
    await f.clock.advanceAsync(LEASE_MS);
    expect(takenBack(f).map((frame) => [frame.requestId, frame.json])).toEqual([[subscription, { ids: [[0, 2]] }]]);
  });

  it('is not sent to a client whose HELLO did not ask for it: it would not know the frame kind', async () => {
    const { f, sub } = await subscribed();
    await f.clock.advanceAsync(LEASE_MS);
    await f.peer.next((frame) => frame.kind === FrameKind.DELIVER && frame.requestId === sub);
    expect(takenBack(f)).toEqual([]);
  });
});
