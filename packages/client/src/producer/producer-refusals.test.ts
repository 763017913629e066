/** The producer's answers to a produce request refused or left unanswered: halving, renumbering, timeouts. */
import { describe, expect, it } from 'vitest';
import { tick } from '../fake-server.test-support.js';
import { header, sentValues, setup, values } from './producer.test-support.js';

/** The TIMEOUT (or anything else) a send settles with, without an unhandled rejection. */
const outcomeOf = (sending: Promise<unknown>) => sending.catch((error: unknown) => error);

describe('Producer: a batch refused as too large for the server or the room left', () => {
  it.each(['MESSAGE_TOO_LARGE', 'TOPIC_FULL'])('a batch refused %s goes on in halves with its sequences, each send settling at its records\' offsets', async (code) => {
    const { server, producer, nextProduce } = await setup();
    const inFlight = producer.send('t', values(1));
    const firstFrame = await nextProduce();
    const sends = [producer.send('t', values(2, 1)), producer.send('t', values(1, 3))]; // merged behind the batch in flight
    server.respond(firstFrame, { baseOffset: '0', lastOffset: '0', duplicate: false });
    await inFlight;
    const merged = await nextProduce();
    expect(header(merged)).toMatchObject({ baseSequence: 1, recordCount: 3 });
    server.fail(merged, code, code === 'TOPIC_FULL');
    const firstHalf = await nextProduce();
    expect(header(firstHalf)).toMatchObject({ producerId: 7n, baseSequence: 1, recordCount: 2 });
    expect(sentValues(firstHalf)).toEqual(['v1', 'v2']);
    server.respond(firstHalf, { baseOffset: '1', lastOffset: '2', duplicate: false });
    const secondHalf = await nextProduce();
    expect(header(secondHalf)).toMatchObject({ producerId: 7n, baseSequence: 3, recordCount: 1 });
    expect(sentValues(secondHalf)).toEqual(['v3']);
    server.respond(secondHalf, { baseOffset: '3', lastOffset: '3', duplicate: false });
    expect(await Promise.all(sends)).toEqual([[1n, 2n], [3n]].map((offsets) => offsets.map((offset) => ({ partition: 0, offset }))));
  });

  it("halves keep the batch's deadline: one still unanswered then fails with TIMEOUT", async () => {
    const { server, producer, nextProduce, clock } = await setup({ deliveryTimeoutMs: 5_000 });
    const sent = outcomeOf(producer.send('t', values(2)));
    server.fail(await nextProduce(), 'MESSAGE_TOO_LARGE');
    const firstHalf = await nextProduce();
    expect(header(firstHalf)).toMatchObject({ baseSequence: 0, recordCount: 1 });
    clock.advance(4_999);
    await tick();
    expect(await Promise.race([sent, 'pending'])).toBe('pending');
    clock.advance(1);
    // The half's own request was only slow: no last failure to name.
    expect(await sent).toMatchObject({ code: 'TIMEOUT', description: 'batch for t/0 not persisted within deliveryTimeoutMs 5000', details: { deliveryTimeoutMs: 5_000 } });
  });
});

describe('Producer: sequences after a refusal', () => {
  it('UNKNOWN_PRODUCER_ID moves the partition to a fresh producer id, and the batch goes again at once renumbered', async () => {
    const { server, producer, nextProduce } = await setup();
    const sent = producer.send('t', values(2));
    server.fail(await nextProduce('7'), 'UNKNOWN_PRODUCER_ID');
    const renumbered = await nextProduce('8');
    expect(header(renumbered)).toMatchObject({ producerId: 8n, baseSequence: 0, recordCount: 2 });
    server.respond(renumbered, { baseOffset: '0', lastOffset: '1', duplicate: false });
    expect((await sent).map((r) => r.offset)).toEqual([0n, 1n]);
  });

  it('a batch refused for good at its first attempt gives its sequences back: the next batch keeps the producer id', async () => {
    const { server, producer, nextProduce } = await setup();
    const written = producer.send('t', values(1));
    server.respond(await nextProduce('7'), { baseOffset: '0', lastOffset: '0', duplicate: false });
    await written;
    const refused = producer.send('t', values(2, 1));
    server.fail(await nextProduce(), 'INVALID_REQUEST');
    await expect(refused).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    const next = producer.send('t', values(1, 3));
    const frame = await nextProduce('8'); // would answer a request for a fresh id, were one made
    expect(header(frame)).toMatchObject({ producerId: 7n, baseSequence: 1, recordCount: 1 });
    server.respond(frame, { baseOffset: '1', lastOffset: '1', duplicate: false });
    expect(await next).toEqual([{ partition: 0, offset: 1n }]);
  });

  it('a lingering batch that times out unsent leaves the producer id and the sequences as they were', async () => {
    const { server, producer, nextProduce, clock } = await setup({ lingerMs: 60_000, deliveryTimeoutMs: 5_000 });
    const written = producer.send('t', values(1));
    const flushed = producer.flush();
    server.respond(await nextProduce('7'), { baseOffset: '0', lastOffset: '0', duplicate: false });
    await Promise.all([written, flushed]);
    const lingering = outcomeOf(producer.send('t', values(2, 1)));
    await tick();
    expect(server.requests).toEqual([]);
    clock.advance(5_000);
    expect(await lingering).toMatchObject({ code: 'TIMEOUT', description: 'batch for t/0 not persisted within deliveryTimeoutMs 5000' });
    const next = producer.send('t', values(1, 3));
    void producer.flush();
    const frame = await nextProduce('8');
    expect(header(frame)).toMatchObject({ producerId: 7n, baseSequence: 1, recordCount: 1 });
    server.respond(frame, { baseOffset: '1', lastOffset: '1', duplicate: false });
    expect(await next).toEqual([{ partition: 0, offset: 1n }]);
  });

  it('a batch that timed out in flight and is then refused leaves the partition on a fresh producer id at sequence 0', async () => {
    const { server, producer, nextProduce, clock } = await setup({ deliveryTimeoutMs: 5_000 });
    const written = producer.send('t', values(1));
    server.respond(await nextProduce('7'), { baseOffset: '0', lastOffset: '0', duplicate: false });
    await written;
    const stuck = outcomeOf(producer.send('t', values(2, 1)));
    const frame = await nextProduce();
    expect(header(frame)).toMatchObject({ baseSequence: 1 });
    clock.advance(5_000);
    expect(await stuck).toMatchObject({ code: 'TIMEOUT' });
    server.fail(frame, 'INVALID_REQUEST'); // the late answer of a batch already failed changes nothing
    await tick();
    const next = producer.send('t', values(1, 3));
    const fresh = await nextProduce('8');
    expect(header(fresh)).toMatchObject({ producerId: 8n, baseSequence: 0, recordCount: 1 });
    server.respond(fresh, { baseOffset: '1', lastOffset: '1', duplicate: false });
    expect(await next).toEqual([{ partition: 0, offset: 1n }]);
  });

  it('a batch that times out while its resend waits for a reconnect is withdrawn: never sent after the reconnect', async () => {
    const { server, producer, nextProduce, clock } = await setup({ deliveryTimeoutMs: 5_000 });
    const stuck = outcomeOf(producer.send('t', values(1)));
    await nextProduce();
    server.unreachable = true;
    server.drop(1006);
    await tick();
    clock.advance(5_000);
    expect(await stuck).toMatchObject({ code: 'TIMEOUT', details: { lastError: 'DISCONNECTED' } });
    server.unreachable = false;
    clock.advance(0);
    await tick();
    await tick();
    expect(server.opened).toBe(2);
    expect(server.requests).toEqual([]);
  });
});

describe('Producer: a connection that gives up reconnecting', () => {
  it('fails a batch in flight with the DISCONNECTED that closed the connection, without sending it again', async () => {
    const { server, producer, nextProduce, clock } = await setup({}, undefined, 1);
    const sent = outcomeOf(producer.send('t', values(1)));
    await nextProduce();
    server.unreachable = true;
    server.drop(1006);
    await tick();
    clock.advance(0); // the one reconnect attempt fails: the connection is closed for good
    expect(await sent).toMatchObject({ code: 'DISCONNECTED', details: { attempts: 1 } });
    expect(server.opened).toBe(1);
  });
});

describe('Producer: a produce refused UNKNOWN_TOPIC or UNKNOWN_PARTITION', () => {
  it.each(['UNKNOWN_TOPIC', 'UNKNOWN_PARTITION'])('%s fails the send and makes the next send ask for the partition count again', async (code) => {
    const { server, producer, nextProduce } = await setup();
    const refused = producer.send('t', values(1));
    server.fail(await nextProduce(), code);
    await expect(refused).rejects.toMatchObject({ code });
    const next = producer.send('t', values(1, 1));
    await server.waitForRequests(1);
    expect(server.requests.map((frame) => frame.json['op'])).toEqual(['describeTopic']);
    server.respond(await nextProduce(), { baseOffset: '0', lastOffset: '0', duplicate: false });
    expect(await next).toEqual([{ partition: 0, offset: 0n }]);
  });
});
