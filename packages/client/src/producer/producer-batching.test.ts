import { describe, expect, it } from 'vitest';
import { sizeOfRecordMax } from '@brook/protocol';
import { TEST_LIMITS, tick } from '../fake-server.test-support.js';
import { header, resentAfterDrop, sentValues, setup, values } from './producer.test-support.js';

/** A record of `bytes` bytes as the producer counts it (sizeOfRecordMax: a byte value's length plus 22 at this size). */
const recordOf = (bytes: number) => ({ value: new Uint8Array(bytes - 22) });

describe('Producer batch limits', () => {
  it('puts records of exactly batchBytesMax together in one batch; one byte more starts the next batch', async () => {
    expect(sizeOfRecordMax({ key: null, value: recordOf(200).value, headers: [] })).toBe(200);
    const { server, producer, nextProduce } = await setup({ batchBytesMax: 400 });
    const exact = producer.send('t', [recordOf(200), recordOf(200)]);
    const together = await nextProduce();
    expect(header(together).recordCount).toBe(2);
    server.respond(together, { baseOffset: '0', lastOffset: '1', duplicate: false });
    expect((await exact).map((r) => r.offset)).toEqual([0n, 1n]);

    const over = producer.send('t', [recordOf(200), recordOf(201)]);
    const first = await nextProduce();
    expect(header(first)).toMatchObject({ recordCount: 1, baseSequence: 2 });
    server.respond(first, { baseOffset: '2', lastOffset: '2', duplicate: false });
    const second = await nextProduce();
    expect(header(second)).toMatchObject({ recordCount: 1, baseSequence: 3 });
    server.respond(second, { baseOffset: '3', lastOffset: '3', duplicate: false });
    expect((await over).map((r) => r.offset)).toEqual([2n, 3n]);
  });

  it("seals a collecting batch already at the batchRecordsMax of the server it reconnected to, before adding to it", async () => {
    const { server, producer, nextProduce, clock } = await setup();
    const inFlight = producer.send('t', values(1));
    await nextProduce();
    const collected = producer.send('t', values(3, 1)); // collects behind the batch in flight
    await tick();
    server.limits = { ...TEST_LIMITS, batchRecordsMax: 3 };
    server.drop(1006);
    await tick();
    clock.advance(0);
    const resent = await nextProduce();
    const later = producer.send('t', values(1, 4));
    server.respond(resent, { baseOffset: '0', lastOffset: '0', duplicate: false });
    await inFlight;
    const full = await nextProduce();
    expect(sentValues(full)).toEqual(['v1', 'v2', 'v3']);
    server.respond(full, { baseOffset: '1', lastOffset: '3', duplicate: false });
    const rest = await nextProduce();
    expect(header(rest)).toMatchObject({ recordCount: 1, baseSequence: 4 });
    server.respond(rest, { baseOffset: '4', lastOffset: '4', duplicate: false });
    expect([...await collected, ...await later].map((r) => r.offset)).toEqual([1n, 2n, 3n, 4n]);
  });
});

describe('Producer lingerMs and batchRecordsMax', () => {
  it('sends a batch the moment it holds exactly batchRecordsMax records, without waiting out lingerMs', async () => {
    const { server, producer, nextProduce } = await setup({ lingerMs: 60_000, batchRecordsMax: 2 });
    const sent = producer.send('t', values(2));
    const frame = await nextProduce(); // no flush, no clock advance
    expect(sentValues(frame)).toEqual(['v0', 'v1']);
    server.respond(frame, { baseOffset: '0', lastOffset: '1', duplicate: false });
    expect((await sent).map((r) => r.offset)).toEqual([0n, 1n]);
  });
});

describe('Producer deliveryTimeoutMs of a lingering batch', () => {
  it('fails the batch at its first send\'s deadline, not a later joiner\'s; the next send starts a new batch at sequence 0', async () => {
    const { server, producer, nextProduce, clock } = await setup({ lingerMs: 60_000, deliveryTimeoutMs: 5_000 });
    const first = producer.send('t', values(1)).catch((error: unknown) => error);
    await server.waitForRequests(1);
    server.respond(server.take('describeTopic'), { name: 't', partitions: [{ partition: 0, startOffset: '0', endOffset: '0' }] });
    await tick();
    clock.advance(1_000);
    const joiner = producer.send('t', values(1, 1)).catch((error: unknown) => error);
    await tick();
    clock.advance(3_999);
    await tick();
    expect(await Promise.race([first, 'pending'])).toBe('pending');
    clock.advance(1);
    await tick();
    expect(await Promise.race([first, 'pending'])).toMatchObject({ code: 'TIMEOUT', details: { deliveryTimeoutMs: 5_000 } });
    expect(await Promise.race([joiner, 'pending'])).toMatchObject({ code: 'TIMEOUT' }); // its batch's deadline is the earliest of its sends'
    expect(server.requests).toEqual([]);

    const next = producer.send('t', values(1, 2));
    const flushed = producer.flush();
    const frame = await Promise.race([nextProduce(), flushed.then(() => Promise.reject(new Error('flushed with the send unsent')))]);
    expect(header(frame)).toMatchObject({ producerId: 7n, baseSequence: 0, recordCount: 1 });
    expect(sentValues(frame)).toEqual(['v2']);
    server.respond(frame, { baseOffset: '0', lastOffset: '0', duplicate: false });
    expect(await next).toEqual([{ partition: 0, offset: 0n }]);
    await flushed;
  });
});

describe('Producer sequences after a resend', () => {
  it('a batch refused for good after a resend moves the partition to a fresh producer id: the first attempt may be in the log', async () => {
    const { server, producer, nextProduce, sent: failing, original, resent } = await resentAfterDrop();
    expect([...resent.data]).toEqual([...original.data]);
    server.fail(resent, 'INVALID_REQUEST');
    await expect(failing).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    const next = producer.send('t', values(1, 2));
    const fresh = await nextProduce('8');
    // Not id 7 at sequence 0: had the first attempt been appended, the broker would take this
    // batch for its duplicate and answer with the old batch's offset, writing nothing.
    expect(header(fresh)).toMatchObject({ producerId: 8n, baseSequence: 0, recordCount: 1 });
    server.respond(fresh, { baseOffset: '2', lastOffset: '2', duplicate: false });
    expect(await next).toEqual([{ partition: 0, offset: 2n }]);
  });
});
