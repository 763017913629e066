import { describe, expect, it } from 'vitest';
import { decodeBatch, sizeOfRecordMax } from '@brook/protocol';
import { tick } from '../fake-server.test-support.js';
import { header, resentAfterDrop, sentValues, setup, values } from './producer.test-support.js';

describe('Producer', () => {
  it('numbers batches per partition and keeps one in flight, the next one growing meanwhile', async () => {
    const { server, producer, nextProduce } = await setup();
    const first = producer.send('t', values(3));
    const firstFrame = await nextProduce();
    expect(header(firstFrame)).toMatchObject({ producerId: 7n, producerEpoch: 0, baseSequence: 0, recordCount: 3 });
    const second = producer.send('t', values(2, 3));
    const third = producer.send('t', values(4, 5));
    await tick();
    expect(server.requests).toEqual([]);
    server.respond(firstFrame, { baseOffset: '10', lastOffset: '12', duplicate: false });
    expect(await first).toEqual([10n, 11n, 12n].map((offset) => ({ partition: 0, offset })));
    const secondFrame = await nextProduce();
    expect(header(secondFrame)).toMatchObject({ baseSequence: 3, recordCount: 6 });
    server.respond(secondFrame, { baseOffset: '13', lastOffset: '18', duplicate: false });
    expect((await second).map((r) => r.offset)).toEqual([13n, 14n]);
    expect((await third).map((r) => r.offset)).toEqual([15n, 16n, 17n, 18n]);
  });

  it('resends the same bytes after a dropped connection, and takes the duplicate answer', async () => {
    const { server, sent, original, resent } = await resentAfterDrop();
    expect([...resent.data]).toEqual([...original.data]);
    server.respond(resent, { baseOffset: '0', lastOffset: '1', duplicate: true });
    expect((await sent).map((r) => r.offset)).toEqual([0n, 1n]);
  });

  it("sends its id's incarnation with each batch; on a broker of another incarnation, a new id from sequence 0 before the next batch", async () => {
    const { server, producer, nextProduce, clock } = await setup();
    server.incarnation = 'A';
    server.drop(1006); // reconnects to a server announcing incarnation A
    await tick();
    clock.advance(0);
    const first = producer.send('t', values(2));
    const firstFrame = await nextProduce('7', 'A');
    expect([header(firstFrame).producerId, firstFrame.json['incarnation']]).toEqual([7n, 'A']);
    server.respond(firstFrame, { baseOffset: '0', lastOffset: '1', duplicate: false });
    await first;
    server.incarnation = 'B'; // replaced by a broker on a fresh data directory
    server.drop(1006);
    await tick();
    clock.advance(0);
    const next = producer.send('t', values(1, 2));
    const nextFrame = await nextProduce('0', 'B');
    expect(header(nextFrame)).toMatchObject({ producerId: 0n, baseSequence: 0, recordCount: 1 });
    expect(nextFrame.json['incarnation']).toBe('B');
    server.respond(nextFrame, { baseOffset: '0', lastOffset: '0', duplicate: false });
    expect(await next).toEqual([{ partition: 0, offset: 0n }]);
  });

  it('gives a failed batch its sequence back; OUT_OF_ORDER_SEQUENCE moves the partition to a fresh producer id', async () => {
    const { server, producer, nextProduce } = await setup();
    const failing = producer.send('t', values(1)); // a record alone: it cannot go on in halves
    server.fail(await nextProduce(), 'MESSAGE_TOO_LARGE');
    await expect(failing).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    const next = producer.send('t', values(1));
    const retried = await nextProduce();
    expect(header(retried)).toMatchObject({ producerId: 7n, baseSequence: 0 });
    server.fail(retried, 'OUT_OF_ORDER_SEQUENCE');
    const renumbered = await nextProduce('8');
    expect(header(renumbered)).toMatchObject({ producerId: 8n, baseSequence: 0, recordCount: 1 });
    server.respond(renumbered, { baseOffset: '0', lastOffset: '0', duplicate: false });
    expect(await next).toEqual([{ partition: 0, offset: 0n }]);
  });

  it('a batch refused OUT_OF_ORDER_SEQUENCE again after its renumbering waits for the retry backoff, and times out naming it', async () => {
    const { server, producer, nextProduce, clock } = await setup({ deliveryTimeoutMs: 5_000 });
    const sent = producer.send('t', values(1)).catch((error: unknown) => error);
    server.fail(await nextProduce('7'), 'OUT_OF_ORDER_SEQUENCE');
    const renumbered = await nextProduce('8'); // the first loss renumbers at once (a fresh id at sequence 0)
    expect(header(renumbered)).toMatchObject({ producerId: 8n, baseSequence: 0 });
    server.fail(renumbered, 'OUT_OF_ORDER_SEQUENCE'); // a broker that refuses even that is broken
    await tick();
    await tick();
    expect(server.requests).toEqual([]); // no request until the backoff of the second attempt (100 ms, jitter 0.2) has passed
    clock.advance(79);
    await tick();
    expect(server.requests).toEqual([]);
    clock.advance(41);
    const later = await nextProduce('9');
    expect(header(later)).toMatchObject({ producerId: 9n, baseSequence: 0 });
    server.fail(later, 'OUT_OF_ORDER_SEQUENCE');
    clock.advance(5_000);
    expect(await sent).toMatchObject({
      code: 'TIMEOUT', description: 'batch for t/0 not persisted within deliveryTimeoutMs 5000; last failure: OUT_OF_ORDER_SEQUENCE', details: { lastError: 'OUT_OF_ORDER_SEQUENCE' },
    });
  });

  it('fails a batch not persisted within deliveryTimeoutMs with TIMEOUT; the partition moves to a fresh id', async () => {
    const { server, producer, nextProduce, clock } = await setup({ deliveryTimeoutMs: 5_000 });
    const stuck = producer.send('t', values(1));
    const frame = await nextProduce();
    clock.advance(5_000);
    const timedOut = await stuck.catch((error: unknown) => error);
    expect(timedOut).toMatchObject({ code: 'TIMEOUT', details: { deliveryTimeoutMs: 5_000 } });
    expect((timedOut as Error).cause).toBeUndefined(); // no failure: the broker was only slow
    server.respond(frame, { baseOffset: '0', lastOffset: '0', duplicate: false });
    const after = producer.send('t', values(1));
    const fresh = await nextProduce('9');
    expect(header(fresh)).toMatchObject({ producerId: 9n, baseSequence: 0 });
    server.respond(fresh, { baseOffset: '1', lastOffset: '1', duplicate: false });
    await after;
  });

  it('a batch that times out while its producer id is being asked for takes no sequence: the next batch starts at 0', async () => {
    const { server, producer, clock } = await setup({ deliveryTimeoutMs: 5_000 });
    const stuck = producer.send('t', values(2)).catch((error: unknown) => error);
    await server.waitForRequests(1);
    server.respond(server.take('describeTopic'), { name: 't', partitions: [{ partition: 0, startOffset: '0', endOffset: '0' }] });
    await server.waitForRequests(1);
    const init = server.take('initProducer');
    clock.advance(5_000);
    expect(await stuck).toMatchObject({ code: 'TIMEOUT' });
    server.respond(init, { producerId: '7', producerEpoch: 0 });
    const next = producer.send('t', values(1, 2));
    await server.waitForRequests(1);
    const frame = server.take('produce');
    expect(header(frame)).toMatchObject({ producerId: 7n, baseSequence: 0, recordCount: 1 }); // not 2: the broker would refuse a gap
    server.respond(frame, { baseOffset: '0', lastOffset: '0', duplicate: false });
    expect(await next).toEqual([{ partition: 0, offset: 0n }]);
  });

  it("resends a first send's partition lookup cut off by a dropped connection, instead of failing the send", async () => {
    const { server, producer, nextProduce, clock } = await setup();
    const sent = producer.send('t', values(1));
    await server.waitForRequests(1);
    expect(server.requests.map((frame) => frame.json['op'])).toEqual(['describeTopic']);
    server.drop(1006);
    await tick();
    clock.advance(0);
    const notYet = sent.then(() => Promise.reject(new Error('resolved before its produce was answered')));
    const frame = await Promise.race([nextProduce(), notYet]); // nextProduce answers the repeated describeTopic
    server.respond(frame, { baseOffset: '0', lastOffset: '0', duplicate: false });
    expect(await sent).toEqual([{ partition: 0, offset: 0n }]);
  });

  it('retries a lookup that failed retriably after the retry backoff, and fails the send with TIMEOUT after deliveryTimeoutMs', async () => {
    const { server, producer, clock } = await setup({ deliveryTimeoutMs: 5_000, retryBackoff: { initialDelayMs: 1_000, maxDelayMs: 1_000, jitter: 0 } });
    const sent = producer.send('t', values(1));
    const outcome = sent.catch((error: unknown) => error);
    await server.waitForRequests(1);
    server.fail(server.take('describeTopic'), 'IO_ERROR', true);
    await tick();
    clock.advance(999);
    await tick();
    expect(server.requests).toEqual([]);
    clock.advance(1);
    await server.waitForRequests(1);
    expect(server.take('describeTopic').json).toEqual({ op: 'describeTopic', name: 't' }); // left unanswered
    clock.advance(3_999);
    await tick();
    expect(await Promise.race([outcome, 'pending'])).toBe('pending');
    clock.advance(1);
    expect(await outcome).toMatchObject({ code: 'TIMEOUT', details: { topic: 't', deliveryTimeoutMs: 5_000, lastError: 'IO_ERROR' }, cause: { code: 'IO_ERROR' } });
  });

  it.each([0, -3_600_000, 3_600_000])('fails a send with TIMEOUT deliveryTimeoutMs after the call, its lookup included, not a fresh timeout for its batch (wall clock stepped %i ms meanwhile)', async (wallStepMs) => {
    const { server, producer, clock } = await setup({ deliveryTimeoutMs: 5_000 });
    const sent = producer.send('t', values(1));
    const outcome = sent.catch((error: unknown) => error);
    await server.waitForRequests(1);
    clock.advance(4_900);
    clock.stepWall(wallStepMs);
    server.respond(server.take('describeTopic'), { name: 't', partitions: [{ partition: 0, startOffset: '0', endOffset: '0' }] });
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0 });
    await server.waitForRequests(1);
    expect(server.take('produce').json).toMatchObject({ op: 'produce', topic: 't' }); // left unanswered
    clock.advance(99);
    await tick();
    expect(await Promise.race([outcome, 'pending'])).toBe('pending');
    clock.advance(1);
    await tick();
    expect(await Promise.race([outcome, 'pending'])).toMatchObject({ code: 'TIMEOUT', details: { topic: 't', partition: 0, deliveryTimeoutMs: 5_000 } });
  });

  it('fails a send at once when the lookup is refused for good (UNKNOWN_TOPIC)', async () => {
    const { server, producer } = await setup();
    const sent = producer.send('t', values(1));
    await server.waitForRequests(1);
    server.fail(server.take('describeTopic'), 'UNKNOWN_TOPIC');
    await expect(sent).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
  });

  it('puts unkeyed records round-robin record by record, across sends, from a partition drawn from the injected Random', async () => {
    const draws: number[] = [];
    const { server, producer } = await setup({}, { next: () => 0.5, int: (max) => (draws.push(max), 2) });
    const sending = [producer.send('t', values(4)), producer.send('t', values(2))];
    await server.waitForRequests(1);
    server.respond(server.take('describeTopic'), { name: 't', partitions: [0, 1, 2].map((partition) => ({ partition, startOffset: '0', endOffset: '0' })) });
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '1', producerEpoch: 0 });
    await server.waitForRequests(3);
    const produces = [server.take('produce'), server.take('produce'), server.take('produce')];
    // One batch per partition, each with two records: one of each send.
    expect(produces.map((frame) => [frame.json['partition'], header(frame).recordCount])).toEqual([[0, 2], [1, 2], [2, 2]]);
    for (const frame of produces) server.respond(frame, { baseOffset: '0', lastOffset: '1', duplicate: false });
    expect((await Promise.all(sending)).map((results) => results.map((r) => r.partition))).toEqual([[2, 0, 1, 2], [0, 1]]);
    expect(draws).toEqual([3]); // once per topic, not per send
  });

  it('flush() sends lingering batches now; close() refuses further sends', async () => {
    const { server, producer, nextProduce } = await setup({ lingerMs: 60_000 });
    const sent = producer.send('t', values(1));
    const closing = producer.close();
    server.respond(await nextProduce(), { baseOffset: '0', lastOffset: '0', duplicate: false });
    await closing;
    expect(await sent).toHaveLength(1);
    await expect(producer.send('t', values(1))).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('Producer: a first send to a topic', () => {
  it('takes its records at the call: the caller may empty or reuse its array and objects while the lookup runs', async () => {
    const { server, producer, nextProduce, clock } = await setup();
    const calledAtMs = clock.now();
    const object = { n: 1 };
    const records = [{ value: object }, { value: 'two' }];
    const sent = producer.send('t', records);
    object.n = 9;
    records.length = 0;
    clock.advance(500);
    const frame = await nextProduce();
    expect(sentValues(frame)).toEqual(['{"n":1}', 'two']);
    expect(decodeBatch(frame.data).records.map((record) => record.timestamp)).toEqual([calledAtMs, calledAtMs]); // the call's time, not the answer's
    server.respond(frame, { baseOffset: '0', lastOffset: '1', duplicate: false });
    expect(await sent).toEqual([0n, 1n].map((offset) => ({ partition: 0, offset })));
  });

  it('refuses a bad record with INVALID_REQUEST before asking for the partition count', async () => {
    const { server, producer } = await setup();
    await expect(producer.send('t', [{ value: 'fine' }, { value: undefined as never }])).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { record: 1 } });
    await tick();
    expect(server.requests).toEqual([]);
  });

  it('refuses a sparse records array (a hole is no record) with INVALID_REQUEST, its buffer room kept', async () => {
    const { server, producer, nextProduce } = await setup({ bufferBytesMax: 100 });
    const sparse = [, { value: 'x' }] as { value: string }[];
    await expect(producer.send('t', sparse)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { record: 0 } });
    const sent = producer.send('t', [{ value: 'y'.repeat(50) }]);
    server.respond(await nextProduce(), { baseOffset: '0', lastOffset: '0', duplicate: false });
    expect(await sent).toEqual([{ partition: 0, offset: 0n }]);
  });

  it('a send made while an earlier one to the topic waits out a failed lookup goes after it (per-key order)', async () => {
    const { server, producer, nextProduce, clock } = await setup({ retryBackoff: { initialDelayMs: 1_000, maxDelayMs: 1_000, jitter: 0 } });
    const first = producer.send('t', [{ key: 'k', value: 'first' }]);
    await server.waitForRequests(1);
    server.fail(server.take('describeTopic'), 'IO_ERROR', true);
    await tick();
    const second = producer.send('t', [{ key: 'k', value: 'second' }]);
    const produced = nextProduce();
    await tick();
    clock.advance(1_000); // the first send's lookup goes again
    const frame = await produced;
    expect(sentValues(frame)).toEqual(['first', 'second']);
    server.respond(frame, { baseOffset: '0', lastOffset: '1', duplicate: false });
    expect([(await first)[0]!.offset, (await second)[0]!.offset]).toEqual([0n, 1n]);
  });
});

describe('Producer lingerMs', () => {
  it('sends a batch that filled up without waiting out lingerMs; the rest goes when it returns, as behind any batch in flight', async () => {
    const { server, producer, nextProduce } = await setup({ lingerMs: 1_000, batchRecordsMax: 2 });
    const sent = producer.send('t', values(3));
    const full = await nextProduce();
    expect(sentValues(full)).toEqual(['v0', 'v1']);
    server.respond(full, { baseOffset: '0', lastOffset: '1', duplicate: false });
    const rest = await nextProduce();
    expect(sentValues(rest)).toEqual(['v2']);
    server.respond(rest, { baseOffset: '2', lastOffset: '2', duplicate: false });
    expect((await sent).map((r) => r.offset)).toEqual([0n, 1n, 2n]);
  });
});

describe('Producer flush', () => {
  it('resolves once the sends made before it have settled, not waiting for sends made after it', async () => {
    const { server, producer, nextProduce } = await setup();
    const first = producer.send('t', values(1));
    const firstFrame = await nextProduce();
    let flushed = false;
    const flushing = producer.flush().then(() => (flushed = true));
    const later = producer.send('t', values(1, 1)); // waits for the first batch: one in flight per partition
    server.respond(firstFrame, { baseOffset: '0', lastOffset: '0', duplicate: false });
    await first;
    const laterFrame = await nextProduce();
    expect(flushed).toBe(true);
    server.respond(laterFrame, { baseOffset: '1', lastOffset: '1', duplicate: false });
    await Promise.all([flushing, later]);
  });
});

describe('Producer close', () => {
  it('a second close() resolves only once the first has drained', async () => {
    const { server, producer, nextProduce } = await setup({ lingerMs: 60_000 });
    const sent = producer.send('t', values(1));
    void producer.close();
    let closedAgain = false;
    const again = producer.close().then(() => (closedAgain = true));
    const frame = await nextProduce();
    expect(closedAgain).toBe(false);
    server.respond(frame, { baseOffset: '0', lastOffset: '0', duplicate: false });
    await again;
    expect(await sent).toEqual([{ partition: 0, offset: 0n }]);
  });
});

describe('Producer buffer bound', () => {
  it('parks sends past bufferBytesMax until earlier batches are persisted, then sends them in call order', async () => {
    // Each record counts about 100 bytes (value plus record overhead).
    const { server, producer, nextProduce } = await setup({ bufferBytesMax: 300 });
    const record = { value: 'x'.repeat(50) };
    const first = producer.send('t', [record, record]);
    const firstFrame = await nextProduce();
    const second = producer.send('t', [record]);
    const third = producer.send('t', [record]); // would pass the bound with `first` unfinished: parked
    const flushed = producer.flush();
    await tick();
    expect(server.requests).toEqual([]);
    server.respond(firstFrame, { baseOffset: '0', lastOffset: '1', duplicate: false });
    await first;
    const secondFrame = await nextProduce();
    expect(header(secondFrame)).toMatchObject({ recordCount: 2, baseSequence: 2 });
    server.respond(secondFrame, { baseOffset: '2', lastOffset: '3', duplicate: false });
    expect((await second).map((r) => r.offset)).toEqual([2n]);
    expect((await third).map((r) => r.offset)).toEqual([3n]);
    await flushed;
  });

  // A record counts the most bytes it can take in a batch (sizeOfRecordMax): a byte value's, its
  // length plus 22 at this size.
  it.each([
    ['bufferBytesMax', { bufferBytesMax: 400, batchBytesMax: 1000 }, 400],
    ['batchBytesMax', { bufferBytesMax: 1000, batchBytesMax: 400 }, 400],
  ])('a send of exactly %s goes; one byte more is MESSAGE_TOO_LARGE and sends nothing', async (_limit, options, limit) => {
    const { server, producer, nextProduce } = await setup(options);
    expect(sizeOfRecordMax({ key: null, value: new Uint8Array(limit - 22), headers: [] })).toBe(limit);
    const exact = producer.send('t', [{ value: new Uint8Array(limit - 22) }]);
    const frame = await nextProduce();
    await expect(producer.send('t', [{ value: new Uint8Array(limit - 21) }])).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { limit } });
    server.respond(frame, { baseOffset: '0', lastOffset: '0', duplicate: false });
    expect(await exact).toEqual([{ partition: 0, offset: 0n }]);
    await tick();
    expect(server.requests).toEqual([]);
  });

  it('refuses a single send larger than bufferBytesMax with MESSAGE_TOO_LARGE, and an aborted parked send frees its place', async () => {
    const { server, producer, nextProduce } = await setup({ bufferBytesMax: 400 });
    // Each about 240 bytes with its content-type header: one fits beside the other, not two.
    const first = producer.send('t', [{ value: 'x'.repeat(200) }]);
    const firstFrame = await nextProduce();
    await expect(producer.send('t', [{ value: 'x'.repeat(500) }])).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    const abort = new AbortController();
    const parked = producer.send('t', [{ value: 'y'.repeat(200) }], { signal: abort.signal });
    abort.abort(new Error('changed my mind'));
    await expect(parked).rejects.toThrow('changed my mind');
    server.respond(firstFrame, { baseOffset: '0', lastOffset: '0', duplicate: false });
    await first;
    const next = producer.send('t', [{ value: 'z' }]);
    const nextFrame = await nextProduce();
    expect(header(nextFrame)).toMatchObject({ recordCount: 1, baseSequence: 1 });
    server.respond(nextFrame, { baseOffset: '1', lastOffset: '1', duplicate: false });
    expect((await next).map((r) => r.offset)).toEqual([1n]);
  });
});
