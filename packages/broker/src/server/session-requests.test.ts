/**
 * Session, one REQUEST at a time: every broker op, and the per-request rows of docs/protocol.md's
 * bad-input table (answered with ERROR; the connection stays).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { FrameKind, JSON_DEPTH_MAX, MemoryFileSystem, decodeBatch, encodeBatch, encodeFrame } from '@brook/protocol';
import { Broker } from '../broker.js';
import { batchOf, sessionFixture, text, type SessionFixture } from './session-fixture.js';
import { wireError } from './wire-error.js';

let f: SessionFixture;

beforeEach(async () => {
  f = await sessionFixture();
  await f.hello();
  await f.ok('createTopic', { name: 'orders', partitions: 2 });
});

async function expectError(op: string, args: Record<string, unknown>, code: string, details: Record<string, unknown> = {}, data?: Uint8Array): Promise<void> {
  const frame = await f.request(op, args, data);
  expect(frame.kind).toBe(FrameKind.ERROR);
  expect(frame.json).toMatchObject({ code, details });
  expect(typeof frame.json['retriable']).toBe('boolean');
  expect(f.peer.closed).toBeUndefined();
}

describe('topic admin', () => {
  it('createTopic with retention, listTopics, describeTopic (offsets as decimal strings)', async () => {
    await f.ok('createTopic', { name: 'capped', retention: { maxBytes: 1_000_000, discard: 'new' } });
    expect(await f.ok('listTopics')).toEqual({ topics: ['capped', 'orders'] });
    const described = await f.ok('describeTopic', { name: 'orders' });
    expect(described).toMatchObject({ name: 'orders', partitions: [{ partition: 0, startOffset: '0', endOffset: '0' }, { partition: 1, startOffset: '0', endOffset: '0' }] });
  });

  it('deleteTopic removes the topic and its groups; a topic of the same name starts empty', async () => {
    await f.ok('produce', { topic: 'orders', partition: 0 }, batchOf(['old']));
    const { subscription } = await f.ok('subscribe', { topic: 'orders', group: 'g' });
    await f.deliveries(subscription as number);
    expect(await f.ok('deleteTopic', { name: 'orders' })).toEqual({});
    const end = await f.peer.next((frame) => frame.kind === FrameKind.END);
    expect([end.requestId, end.json['code']]).toEqual([subscription, 'UNKNOWN_TOPIC']);
    expect(await f.ok('listGroups')).toEqual({ groups: [] });
    await expectError('deleteTopic', { name: 'orders' }, 'UNKNOWN_TOPIC');
    await f.ok('createTopic', { name: 'orders' });
    expect((await f.ok('describeTopic', { name: 'orders' }))['partitions']).toMatchObject([{ endOffset: '0' }]);
  });

  it('deleteTopic is durable: a reopened broker has neither the topic nor its groups', async () => {
    const fs = new MemoryFileSystem();
    const broker = await Broker.open({ storage: 'memory', fs });
    await broker.createTopic('gone');
    await broker.createTopic('kept');
    await (await broker.subscribe({ topic: 'gone', group: 'g' }, () => undefined)).close();
    await broker.deleteTopic('gone');
    await broker.close();
    const reopened = await Broker.open({ storage: 'memory', fs });
    expect([reopened.listTopics(), reopened.listGroups()]).toEqual([['kept'], []]);
    expect(await fs.exists('/brook/groups/gone')).toBe(false);
    await reopened.close();
  });
});

describe('produce and fetch', () => {
  it('initProducer, then an idempotent batch and its resend', async () => {
    const { producerId, producerEpoch, incarnation } = await f.ok('initProducer');
    expect([producerId, producerEpoch, incarnation]).toEqual(['0', 0, f.broker.incarnation]);
    const batch = () => encodeBatch([{ key: null, value: new Uint8Array([1]), timestamp: 1 }], { producerId: 0n, producerEpoch: 0, baseSequence: 0 });
    expect(await f.ok('produce', { topic: 'orders', partition: 0 }, batch())).toEqual({ baseOffset: '0', lastOffset: '0', duplicate: false });
    expect(await f.ok('produce', { topic: 'orders', partition: 0 }, batch())).toEqual({ baseOffset: '0', lastOffset: '0', duplicate: true });
    expect(await f.ok('initProducer', { producerId: '0', bumpEpoch: true })).toEqual({ producerId: '0', producerEpoch: 1, incarnation: f.broker.incarnation });
  });

  it('initProducer and produce naming another incarnation: UNKNOWN_PRODUCER_ID, nothing appended', async () => {
    const { incarnation } = await f.ok('initProducer');
    const batch = encodeBatch([{ key: null, value: new Uint8Array([1]), timestamp: 1 }], { producerId: 0n, producerEpoch: 0, baseSequence: 0 });
    await expectError('initProducer', { producerId: '0', incarnation: 'another' }, 'UNKNOWN_PRODUCER_ID', { producerId: '0', incarnation: 'another' });
    await expectError('initProducer', { producerId: '0', incarnation: 7 }, 'INVALID_REQUEST', { field: 'incarnation' });
    await expectError('produce', { topic: 'orders', partition: 0, incarnation: 'another' }, 'UNKNOWN_PRODUCER_ID', {}, batch);
    expect(await f.ok('initProducer', { producerId: '0', incarnation })).toEqual({ producerId: '0', producerEpoch: 0, incarnation });
    expect(await f.ok('produce', { topic: 'orders', partition: 0, incarnation }, batch)).toEqual({ baseOffset: '0', lastOffset: '0', duplicate: false });
  });

  it('fetch returns one batch of consecutive records from the offset, maxRecords of them; nothing past the end', async () => {
    await f.ok('produce', { topic: 'orders', partition: 0 }, batchOf(['a', 'b', 'c']));
    await f.ok('produce', { topic: 'orders', partition: 0 }, batchOf(['d']));
    const frame = await f.request('fetch', { topic: 'orders', partition: 0, offset: '1', maxRecords: 2 });
    expect(frame.json).toEqual({ count: 2 });
    expect(decodeBatch(frame.data).records.map((r) => [r.offset, text(r.value)])).toEqual([[1n, 'b'], [2n, 'c']]);
    const empty = await f.request('fetch', { topic: 'orders', partition: 0, offset: '4' });
    expect([empty.json, empty.data.length]).toEqual([{ count: 0 }, 0]);
  });

  it('offsetForTimestamp answers the first offset at or after the time as a decimal string, the endOffset past the last record', async () => {
    await f.ok('produce', { topic: 'orders', partition: 1 }, batchOf(['a', 'b'], { timestamp: 1_000 }));
    await f.ok('produce', { topic: 'orders', partition: 1 }, batchOf(['c'], { timestamp: 2_000 }));
    expect(await f.ok('offsetForTimestamp', { topic: 'orders', partition: 1, timestampMs: 1_500 })).toEqual({ offset: '2' });
    expect(await f.ok('offsetForTimestamp', { topic: 'orders', partition: 1, timestampMs: 2_001 })).toEqual({ offset: '3' });
    await expectError('offsetForTimestamp', { topic: 'orders', partition: 2, timestampMs: 0 }, 'UNKNOWN_PARTITION');
  });

  it.each([
    ['bad CRC', (b: Uint8Array) => (b[b.length - 1]! ^= 1, b)],
    ['truncated', (b: Uint8Array) => b.subarray(0, b.length - 3)],
    ['trailing bytes', (b: Uint8Array) => new Uint8Array([...b, 0])],
    ['no batch at all', () => new Uint8Array(0)],
  ])('produce of a batch with %s: CORRUPT_BATCH, nothing appended', async (_name, damage) => {
    await expectError('produce', { topic: 'orders', partition: 0 }, 'CORRUPT_BATCH', {}, damage(batchOf(['x', 'y'])));
    expect((await f.ok('describeTopic', { name: 'orders' }))['partitions']).toMatchObject([{ endOffset: '0' }, { endOffset: '0' }]);
  });

  it('too many records or too many bytes in a batch: MESSAGE_TOO_LARGE', async () => {
    const small = await sessionFixture({ broker: await Broker.open({ storage: 'memory', batchRecordsMax: 2, batchBytesMax: 1024 }) });
    await small.hello();
    await small.ok('createTopic', { name: 't' });
    expect((await small.ok('produce', { topic: 't', partition: 0 }, batchOf(['a', 'b'])))['lastOffset']).toBe('1');
    expect((await small.request('produce', { topic: 't', partition: 0 }, batchOf(['a', 'b', 'c']))).json).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect((await small.request('produce', { topic: 't', partition: 0 }, batchOf(['x'.repeat(2000)]))).json).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
  });
});

describe('group admin', () => {
  it('listGroups, describeGroup, resetGroup, redrive, deleteGroup', async () => {
    await f.ok('produce', { topic: 'orders', partition: 0 }, batchOf(['a', 'b']));
    const { subscription } = await f.ok('subscribe', { topic: 'orders', group: 'g', maxDeliveries: 1 });
    const [first, second] = await f.deliveries(subscription as number);
    await f.ok('settle', { subscription, ack: [[first!.deliveryId, first!.deliveryId]], reject: [[second!.deliveryId, 'bad']] });
    expect(await f.ok('listGroups', { topic: 'orders' })).toEqual({ groups: [{ topic: 'orders', group: 'g' }] });
    expect(await f.ok('describeGroup', { topic: 'orders', group: 'g' })).toMatchObject({ topic: 'orders', group: 'g', lag: '0' });
    await expectError('deleteGroup', { topic: 'orders', group: 'g' }, 'GROUP_NOT_EMPTY', { topic: 'orders', group: 'g', members: 1 });
    await f.ok('unsubscribe', { subscription });
    expect(await f.ok('resetGroup', { topic: 'orders', group: 'g', to: { offset: '1' } })).toEqual({ positions: ['1', '0'] });
    expect(await f.ok('resetGroup', { topic: 'orders', group: 'g', to: { offset: `${'0'.repeat(40)}1` } })).toEqual({ positions: ['1', '0'] });
    expect(await f.ok('resetGroup', { topic: 'orders', group: 'g', to: 'earliest' })).toEqual({ positions: ['0', '0'] });
    expect(await f.ok('redrive', { deadLetterTopic: 'orders.dlq' })).toEqual({ moved: 1, skipped: 0 });
    expect(await f.ok('deleteGroup', { topic: 'orders', group: 'g' })).toEqual({});
    expect(await f.ok('listGroups', { topic: 'orders' })).toEqual({ groups: [] });
  });
  it('redrive moves at most maxRecords; one that is no positive integer is INVALID_REQUEST naming it, the error in process', async () => {
    await f.ok('produce', { topic: 'orders', partition: 0 }, batchOf(['a', 'b', 'c']));
    const { subscription } = await f.ok('subscribe', { topic: 'orders', group: 'g', maxDeliveries: 1 });
    const deliveries = await f.deliveries(subscription as number);
    await f.ok('settle', { subscription, reject: deliveries.map((d) => [d.deliveryId, 'bad']) });
    for (const maxRecords of [0, 1.5, '1', null]) {
      const inProcess = await f.broker.redrive('orders.dlq', { maxRecords: maxRecords as number }).then(() => undefined, (e: unknown) => e);
      const frame = await f.request('redrive', { deadLetterTopic: 'orders.dlq', maxRecords });
      expect([frame.kind, frame.json], String(maxRecords)).toEqual([FrameKind.ERROR, wireError(inProcess)]);
      expect(frame.json, String(maxRecords)).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'maxRecords' } });
    }
    expect(await f.ok('redrive', { deadLetterTopic: 'orders.dlq', maxRecords: 2 })).toEqual({ moved: 2, skipped: 0 });
    expect(await f.ok('redrive', { deadLetterTopic: 'orders.dlq', maxRecords: 2 })).toEqual({ moved: 1, skipped: 0 });
  });
});

describe('bad requests: ERROR for the request, the connection stays', () => {
  it.each([
    ['unknown op', 'nope', {}, { field: 'op' }],
    ['missing op', '', {}, { field: 'op' }],
    ['missing argument', 'describeTopic', {}, { field: 'name' }],
    ['mistyped argument', 'produce', { topic: 'orders', partition: '0' }, { field: 'partition' }],
    ['negative partition', 'fetch', { topic: 'orders', partition: -1, offset: '0' }, { field: 'partition' }],
    ['offset as a number', 'fetch', { topic: 'orders', partition: 0, offset: 0 }, { field: 'offset' }],
    ['offset with a sign', 'fetch', { topic: 'orders', partition: 0, offset: '-1' }, { field: 'offset' }],
    ['offset past 2^63', 'fetch', { topic: 'orders', partition: 0, offset: '9223372036854775808' }, { field: 'offset' }],
    ['bad start position', 'resetGroup', { topic: 'orders', group: 'g', to: { offset: 5 } }, { field: 'to.offset' }],
    ...['', '-', 'x5', '5x', '1e3', ' 5', '+5'].map((offset): [string, string, Record<string, unknown>, Record<string, unknown>] => [`start offset ${JSON.stringify(offset)}`, 'resetGroup', { topic: 'orders', group: 'g', to: { offset } }, { field: 'to.offset' }]),
    ['inherited property as argument', 'describeTopic', { constructor: 'x' }, { field: 'name' }],
    ['timestamp as a string', 'offsetForTimestamp', { topic: 'orders', partition: 0, timestampMs: '5' }, { field: 'timestampMs' }],
    ['timestamp not an integer', 'offsetForTimestamp', { topic: 'orders', partition: 0, timestampMs: 1.5 }, { field: 'timestampMs' }],
    ['missing timestamp', 'offsetForTimestamp', { topic: 'orders', partition: 0 }, { field: 'timestampMs' }],
    ['maxRecords past fetchRecordsMax', 'fetch', { topic: 'orders', partition: 0, offset: '0', maxRecords: 10_000_000 }, { option: 'maxRecords' }],
    ['endOffsets not an array', 'redrive', { deadLetterTopic: 'orders', endOffsets: '5' }, { field: 'endOffsets' }],
    ['endOffsets not decimal', 'redrive', { deadLetterTopic: 'orders', endOffsets: ['1e3'] }, { field: 'endOffsets[0]' }],
    ['endOffsets negative', 'redrive', { deadLetterTopic: 'orders', endOffsets: ['0', '-1'] }, { field: 'endOffsets[1]' }],
    ['endOffsets past 2^63-1', 'redrive', { deadLetterTopic: 'orders', endOffsets: ['9223372036854775808'] }, { field: 'endOffsets[0]' }],
    ['endOffsets beyond the partitions', 'redrive', { deadLetterTopic: 'orders', endOffsets: ['0', '0', '0'] }, { field: 'endOffsets', partitions: 2 }],
  ])('%s: INVALID_REQUEST', async (_name, op, args, details) => {
    await expectError(op, args, 'INVALID_REQUEST', details);
  });

  it.each([
    ['unknown topic', 'describeTopic', { name: 'nope' }, 'UNKNOWN_TOPIC'],
    ['unknown partition', 'fetch', { topic: 'orders', partition: 9, offset: '0' }, 'UNKNOWN_PARTITION'],
    ['unknown group', 'describeGroup', { topic: 'orders', group: 'nope' }, 'UNKNOWN_GROUP'],
    ['unknown group to delete', 'deleteGroup', { topic: 'orders', group: 'nope' }, 'UNKNOWN_GROUP'],
    ['existing topic', 'createTopic', { name: 'orders' }, 'TOPIC_EXISTS'],
    ['bad topic name', 'createTopic', { name: 'a/b' }, 'INVALID_TOPIC_NAME'],
    ['partitions out of range', 'createTopic', { name: 'x', partitions: 0 }, 'INVALID_CONFIG'],
    ['partitions not an integer', 'createTopic', { name: 'x', partitions: 1.5 }, 'INVALID_CONFIG'],
    ['unknown ordering', 'subscribe', { topic: 'orders', group: 'g', ordering: 'random' }, 'INVALID_CONFIG'],
    // A setting of the wrong JSON type is the broker's to refuse, as from a JS caller.
    ['mistyped ordering', 'subscribe', { topic: 'orders', group: 'g', ordering: 3 }, 'INVALID_CONFIG'],
    ['mistyped retention setting', 'createTopic', { name: 'x', retention: { maxBytes: 'big' } }, 'INVALID_CONFIG'],
    ['negative start offset', 'subscribe', { topic: 'orders', group: 'g', from: { offset: '-1' } }, 'INVALID_CONFIG'],
    ['no start position', 'resetGroup', { topic: 'orders', group: 'g' }, 'INVALID_CONFIG'],
    ['retention not an object', 'createTopic', { name: 'x', retention: 5 }, 'INVALID_CONFIG'],
    ['retention an array', 'createTopic', { name: 'x', retention: [] }, 'INVALID_CONFIG'],
    ['retention with a misspelled key', 'createTopic', { name: 'x', retention: { maxByte: 100 } }, 'INVALID_CONFIG'],
    ['backoff not an object', 'subscribe', { topic: 'orders', group: 'g', backoff: [] }, 'INVALID_CONFIG'],
    ['backoff with a misspelled key', 'subscribe', { topic: 'orders', group: 'g', backoff: { initialMs: 10, initialDelayMs: 5 } }, 'INVALID_CONFIG'],
    ['offset past the end', 'fetch', { topic: 'orders', partition: 0, offset: '5' }, 'OFFSET_OUT_OF_RANGE'],
    ['offset 2^63-1, the largest there is', 'fetch', { topic: 'orders', partition: 0, offset: '9223372036854775807' }, 'OFFSET_OUT_OF_RANGE'],
  ])('%s: the broker\'s own code', async (_name, op, args, code) => {
    await expectError(op, args, code);
  });

  it('the message of a refused argument says what the field must be and shows what came', async () => {
    const refusals: [string, Record<string, unknown>, string][] = [
      ['fetch', { topic: 'orders', partition: 0.5, offset: '0' }, 'partition must be an integer in [0, 9007199254740991], got 0.5'],
      ['fetch', { topic: 'orders', partition: 0, offset: '-1' }, 'offset must be a decimal string in 0..2^63-1, got "-1"'],
      ['initProducer', { producerId: '0', bumpEpoch: 'yes' }, 'bumpEpoch must be a boolean, got "yes"'],
      ['redrive', { deadLetterTopic: 'orders', endOffsets: '5' }, 'endOffsets must be an array of decimal strings, got "5"'],
      ['resetGroup', { topic: 'orders', group: 'g', to: { offset: 5 } }, 'to.offset must be a decimal string, got 5'],
      // A settle's arguments are read before its subscription is looked up.
      ['settle', { subscription: 99, ack: 5 }, 'ack must be an array of pairs, got 5'],
      ['settle', { subscription: 99, ack: [[1, 2, 3]] }, 'ack[0] must be a pair [_, _], got [1,2,3]'],
    ];
    for (const [op, args, message] of refusals) expect((await f.request(op, args)).json['message'], op).toBe(message);
  });

  // {"toString": 0} is valid JSON, and String() of it throws: the check refusing such a value threw
  // a TypeError while building its message, which reached the client as an internal error (found
  // by server-fuzz.test.ts with seed 583811799).
  const unprintable = { toString: 0 };
  it.each([
    ['partitions', 'createTopic', { name: 'x', partitions: unprintable }, 'INVALID_CONFIG', { option: 'partitions' }],
    ['retention.maxBytes', 'createTopic', { name: 'x', retention: { maxBytes: unprintable } }, 'INVALID_CONFIG', { option: 'retention.maxBytes' }],
    ['maxInFlight', 'subscribe', { topic: 'orders', group: 'g', maxInFlight: unprintable }, 'INVALID_CONFIG', { option: 'maxInFlight' }],
    ['ackTimeoutMs', 'subscribe', { topic: 'orders', group: 'g', ackTimeoutMs: unprintable }, 'INVALID_CONFIG', { option: 'ackTimeoutMs' }],
    ['maxRecords', 'fetch', { topic: 'orders', partition: 0, offset: '0', maxRecords: unprintable }, 'INVALID_REQUEST', { option: 'maxRecords' }],
  ])('%s as an object String() cannot show: its own code, no internal error', async (_name, op, args, code, details) => {
    const internal: Error[] = [];
    const onWarning = (warning: Error & { code?: string }) => {
      if (warning.code === 'BROOK_INTERNAL_ERROR') internal.push(warning);
    };
    process.on('warning', onWarning);
    try {
      await expectError(op, args, code, details);
    } finally {
      process.off('warning', onWarning);
    }
    expect(internal).toEqual([]);
  });

  it('a setting nested past JSON_DEPTH_MAX, which its error would echo: answered all the same, without that detail, and counted out', { timeout: 5_000 }, async () => {
    const g = await sessionFixture({ limits: { requestsInFlightMax: 1 } });
    await g.hello();
    await g.ok('createTopic', { name: 'deep' });
    // As deep as a frame may nest (the request's top object is level 0), but one level down in an ERROR's details.
    let deep: unknown = 1;
    for (let depth = 1; depth < JSON_DEPTH_MAX; depth++) deep = [deep];
    // By hand: the fixture's stableJson refuses such a value in a request (its deepest level is 32 there too).
    g.session.receive(encodeFrame(FrameKind.REQUEST, 50, JSON.stringify({ op: 'fetch', topic: 'deep', partition: 0, offset: '0', maxRecords: deep })));
    const error = await g.peer.next((frame) => frame.requestId === 50);
    expect([error.kind, error.json['code'], error.json['details']]).toEqual([FrameKind.ERROR, 'INVALID_REQUEST', { option: 'maxRecords', max: 10_000 }]);
    expect(await g.ok('listTopics')).toEqual({ topics: ['deep'] });
  });
});
