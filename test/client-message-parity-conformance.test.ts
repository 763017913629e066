/**
 * What a consumer reads from a record, and which bytes it owns, alike in the three ways to
 * consume: the in-process Broker's consume() (a Delivery) and the client's consume() (a Message)
 * over each transport (describeOnEachTarget). A consumer owns the key, value and header bytes it
 * is handed: writing them changes nothing another reader, a fetch or a redelivery sees.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { expect, it } from 'vitest';
import type { RecordHeader } from '@brook/protocol';
import type { ProducerRecord } from '@brook/client';
import type { TargetSuite } from './fixtures/client-targets.js';
import { describeOnEachTarget, unique } from './fixtures/client-targets.js';

/** What Message and Delivery both show of a record. */
interface Readable {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
  readonly timestamp: number;
  readonly offset: bigint;
  readonly partition: number;
  readonly topic: string;
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  readonly stale: boolean;
  header(key: string): Uint8Array | null | undefined;
  text(): string | null;
  json(): unknown;
  ack(): Promise<void>;
  nack(options?: { delayMs?: number }): Promise<void>;
}

type Stream = AsyncIterable<Readable> & { close(): Promise<void> };
type Consume = (topic: string, options: { group?: string; from?: 'earliest' }) => Stream;

/** Longer than the test timeout: nothing comes back because a lease ran out. */
const LONG_LEASE_MS = 600_000;

/** A group's options get a long lease; a tail reader's have none to set. */
const leased = (options: { group?: string; from?: 'earliest' }): object => (options.group === undefined ? options : { ...options, ackTimeoutMs: LONG_LEASE_MS });

function consumers(suite: TargetSuite): [string, Consume][] {
  return [
    ['client', (topic, options) => suite.client.consume({ topic, ...leased(options) })],
    ['broker', (topic, options) => suite.target.broker.consume({ topic, ...leased(options) })],
  ];
}

/** The first `count` messages of a stream, left unsettled, and the stream's iterator for more. */
async function take(stream: Stream, count: number): Promise<{ messages: Readable[]; next: () => Promise<Readable> }> {
  const iterator = stream[Symbol.asyncIterator]();
  const next = async (): Promise<Readable> => (await iterator.next()).value as Readable;
  const messages: Readable[] = [];
  while (messages.length < count) messages.push(await next());
  return { messages, next };
}

/**
 * Posts `value` with its buffer in the transfer list. A buffer Node or Brook marked untransferable
 * (Node's Buffer pool, the broker's byte slab) is copied on Node 20 and refused with a
 * DataCloneError on Node 21 and later (docs/semantics.md): either way it stays where it was.
 */
function transferOrRefused(port: MessagePort, value: Uint8Array): void {
  try {
    port.postMessage(value, [value.buffer as ArrayBuffer]);
  } catch (error) {
    expect(Number(process.versions.node.split('.')[0]), 'a refused transfer on Node 20').toBeGreaterThanOrEqual(21);
    expect((error as DOMException).name).toBe('DataCloneError');
  }
}

const bytes = (value: Uint8Array | null | undefined): number[] | null | undefined => (value ? [...value] : value);

/** Everything a consumer can read of a message, in plain values (json(): its error code if it throws). */
function snapshot(message: Readable): unknown {
  let json: unknown;
  try {
    json = message.json();
  } catch (error) {
    json = { threw: (error as { code?: string }).code ?? (error as Error).name };
  }
  return {
    key: bytes(message.key), value: bytes(message.value),
    headers: message.headers.map((h) => ({ key: h.key, value: bytes(h.value) })),
    dup: bytes(message.header('dup')), absent: message.header('absent'), nullHeader: bytes(message.header('n')),
    contentType: bytes(message.header('content-type')),
    topic: message.topic, text: message.text(), json, timestamp: message.timestamp, offset: message.offset, partition: message.partition,
    deliveryCount: message.deliveryCount, redelivered: message.redelivered,
  };
}

const RECORDS: ProducerRecord[] = [
  { value: 'null key' },
  { key: 'k', value: '' },
  { key: 'k', value: null },
  { key: new Uint8Array([0, 255]), value: new Uint8Array([0, 1, 255, 128]) },
  { key: 'j', value: { b: [1, 2], a: 'x' } },
  { value: 'null header', headers: { n: null, m: 'x' } },
  { value: Buffer.from('duplicates'), headers: [{ key: 'dup', value: Buffer.from('first') }, { key: 'dup', value: Buffer.from('second') }, { key: 'dup', value: null }] },
  { value: 'stamped', timestamp: 1_234_567 },
  { key: '', value: new Uint8Array(0), headers: { e: '' } },
  { value: 'epoch', timestamp: 0 },
  { value: 'far', timestamp: Number.MAX_SAFE_INTEGER },
];

describeOnEachTarget('what a consumer reads of a record, alike', (suite) => {
  it('key, value, headers, header(), text(), json(), timestamp, offset, partition, deliveryCount and redelivered agree in process and over the client: a group\'s first delivery and redelivery, a tail reader\'s delivery', async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, RECORDS);
    const seen = new Map<string, unknown>();
    for (const [api, consume] of consumers(suite)) {
      const stream = consume(topic, { group: unique('g') });
      const { messages, next } = await take(stream, RECORDS.length);
      seen.set(api, messages.map(snapshot));
      await messages[0]!.nack({ delayMs: 0 });
      await Promise.all(messages.slice(1).map((message) => message.ack()));
      const again = await next();
      seen.set(`${api} redelivery`, snapshot(again));
      await again.ack();
      await stream.close();
      const tail = consume(topic, { from: 'earliest' });
      const { messages: tailed } = await take(tail, RECORDS.length);
      seen.set(`${api} tail reader`, tailed.map(snapshot));
      await Promise.all(tailed.map((message) => message.ack())); // the client's close() waits for them
      await tail.close();
    }
    expect(seen.get('client')).toEqual(seen.get('broker'));
    expect(seen.get('client tail reader')).toEqual(seen.get('broker tail reader'));
    expect(seen.get('broker tail reader')).toEqual(seen.get('broker')); // a first delivery is a first delivery
    expect(seen.get('client redelivery')).toEqual(seen.get('broker redelivery'));
    expect(seen.get('broker redelivery')).toMatchObject({ deliveryCount: 2, redelivered: true, offset: 0n, text: 'null key' });
    // Spot checks that the snapshots say what the cases are about.
    const first = seen.get('broker') as Record<string, unknown>[];
    expect(first.map((s) => s['text'])).toEqual(['null key', '', null, '\u0000\u0001\ufffd\ufffd', '{"a":"x","b":[1,2]}', 'null header', 'duplicates', 'stamped', '', 'epoch', 'far']);
    expect(first[0]).toMatchObject({ key: null, deliveryCount: 1, redelivered: false });
    expect(first[2]).toMatchObject({ value: null, json: null });
    expect(first[3]).toMatchObject({ json: { threw: 'INVALID_REQUEST' } });
    expect(first[4]).toMatchObject({ json: { a: 'x', b: [1, 2] }, contentType: [...Buffer.from('application/json')] });
    expect(first[5]).toMatchObject({ nullHeader: null, absent: undefined });
    expect(first[6]).toMatchObject({ dup: [...Buffer.from('first')], headers: [{ key: 'dup' }, { key: 'dup' }, { key: 'dup', value: null }] });
    expect(first[7]).toMatchObject({ timestamp: 1_234_567 });
    expect(first[8]).toMatchObject({ key: [], value: [], headers: [{ key: 'e', value: [] }] });
    expect([first[9]!['timestamp'], first[10]!['timestamp']]).toEqual([0, Number.MAX_SAFE_INTEGER]);
  });

  it('stale: false while the delivery is current, true once the broker took it back (its lease ran out), false again once settled', async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, [{ value: 'slow' }]);
    // A lease short enough to wait out, long enough to look at the message before it runs out;
    // redelivered at once, so the loop waits for the redelivery, not for time.
    const options = { topic, ackTimeoutMs: 300, backoff: { initialMs: 0, maxMs: 0, multiplier: 1, jitter: 0 } };
    const streams: [string, Stream][] = [
      ['client', suite.client.consume({ ...options, group: unique('g') })],
      ['broker', suite.target.broker.consume({ ...options, group: unique('g') })],
    ];
    const seen: Record<string, boolean[]> = {};
    for (const [api, stream] of streams) {
      const { messages: [late], next } = await take(stream, 1);
      const current = late!.stale;
      const again = await next();
      // Over the client, TAKEN_BACK came before the redelivery: the message knows already.
      const takenBack = late!.stale;
      await expect(late!.ack()).rejects.toMatchObject({ code: 'DELIVERY_STALE' });
      seen[api] = [current, takenBack, late!.stale, again.deliveryCount === 2];
      await again.ack().catch(() => undefined); // a loaded machine may outlive this lease too
      await stream.close();
    }
    expect(seen['client']).toEqual([false, true, false, true]);
    expect(seen['client']).toEqual(seen['broker']);
  });
}, { timestampAheadMsMax: Number.MAX_SAFE_INTEGER }); // 'far' is stamped 2^53-1: a broker that takes any timestamp ahead

/** Writes 0x58 ('X') over every byte a consumer was handed: key, value, header values. */
function scribble(message: Readable): void {
  for (const owned of [message.key, message.value, ...message.headers.map((h) => h.value)]) owned?.fill(0x58);
}

/** Key, value and header values as text: what every other reader must still see. */
function contents(record: { key: Uint8Array | null; value: Uint8Array | null; headers: readonly RecordHeader[] }): string {
  const text = (b: Uint8Array | null): string => (b === null ? 'null' : Buffer.from(b).toString());
  return [text(record.key), text(record.value), ...record.headers.map((h) => `${h.key}=${text(h.value)}`)].join('|');
}

/** Larger than a byte slab hands out (SLAB_TAKE_BYTES_MAX): its copies are arrays of their own. */
const LARGE_VALUE = `value-a${'a'.repeat(40_000)}`;
const OWNED: ProducerRecord[] = [
  { key: 'key-a', value: Buffer.from(LARGE_VALUE), headers: { h: 'header-a' } },
  { key: 'key-b', value: Buffer.from('value-b'), headers: { h: 'header-b' } },
  { key: 'key-c', value: Buffer.from('value-c'), headers: { h: 'header-c' } },
];
const OWNED_CONTENTS = [`key-a|${LARGE_VALUE}|h=header-a`, 'key-b|value-b|h=header-b', 'key-c|value-c|h=header-c'];
/** The first two of OWNED once scribble() wrote them. */
const SCRIBBLED = [`XXXXX|${'X'.repeat(LARGE_VALUE.length)}|h=XXXXXXXX`, 'XXXXX|XXXXXXX|h=XXXXXXXX'];

describeOnEachTarget('a consumer owns the bytes it is handed', (suite) => {
  it.each(['group', 'tail reader'] as const)('writing the key, value and header bytes of a %s\'s message changes nothing that the other message of its delivery, another group, a tail reader, a fetch or a redelivery sees', async (kind) => {
    for (const [api, consume] of consumers(suite)) {
      const topic = await suite.topic();
      await suite.client.producer().send(topic, OWNED);
      const writer = consume(topic, kind === 'group' ? { group: unique('g') } : { from: 'earliest' });
      const { messages: [a, b, c], next } = await take(writer, 3);
      scribble(a!);
      scribble(b!);
      expect([contents(a!), contents(b!)], api).toEqual(SCRIBBLED);
      expect(b!.text(), api).toBe('XXXXXXX'); // text() reads the consumer's own (written) bytes, as over the client
      expect(contents(c!), `${api}: the other message of the delivery`).toBe(OWNED_CONTENTS[2]);
      const others: [string, () => Promise<string[]>][] = [
        ['broker.fetch', async () => (await suite.target.broker.fetch({ topic, partition: 0, offset: 0n })).map(contents)],
        ['client.fetch', async () => (await suite.client.fetch({ topic, partition: 0, offset: 0n })).map(contents)],
        ...consumers(suite).flatMap(([reader, read]): [string, () => Promise<string[]>][] => [
          [`${reader} group`, () => readAll(read(topic, { group: unique('g') }))],
          [`${reader} tail reader`, () => readAll(read(topic, { from: 'earliest' }))],
        ]),
      ];
      for (const [other, read] of others) expect(await read(), `${api} ${kind} wrote, ${other} read`).toEqual(OWNED_CONTENTS);
      if (kind === 'group') {
        await a!.nack({ delayMs: 0 });
        const again = await next();
        expect(contents(again), `${api}: its own redelivery`).toBe(OWNED_CONTENTS[0]);
        await again.ack();
      }
      // The reads since left the messages held as they were: each keeps its own bytes.
      expect([contents(a!), contents(b!), contents(c!)], api).toEqual([...SCRIBBLED, OWNED_CONTENTS[2]]);
      await Promise.all([a!, b!, c!].map((message) => message.ack()));
      await writer.close();
    }
  });

  it('transferring the buffer of a message\'s value (postMessage to a worker) leaves the broker working: a fetch, another group and a produce see the records as they are', async () => {
    for (const [api, consume] of consumers(suite)) {
      const topic = await suite.topic();
      await suite.client.producer().send(topic, OWNED);
      const writer = consume(topic, { group: unique('g') });
      const { messages } = await take(writer, OWNED.length);
      const { port1, port2 } = new MessageChannel();
      // The message's own bytes may go with it (and then read as empty); nobody else's may.
      for (const message of messages.slice(1)) transferOrRefused(port1, message.value!);
      port1.close();
      port2.close();
      expect((await suite.target.broker.fetch({ topic, partition: 0, offset: 0n })).map(contents), `${api} transferred, broker.fetch read`).toEqual(OWNED_CONTENTS);
      expect((await suite.client.fetch({ topic, partition: 0, offset: 0n })).map(contents), `${api} transferred, client.fetch read`).toEqual(OWNED_CONTENTS);
      await suite.target.broker.produce(topic, [{ key: 'key-d', value: 'value-d' }]);
      for (const [reader, read] of consumers(suite)) {
        expect(await readAll(read(topic, { group: unique('g') })), `${api} transferred, ${reader} read`).toEqual(OWNED_CONTENTS);
      }
      await Promise.all(messages.map((message) => message.ack()));
      await writer.close();
    }
  });

  it('writing a fetched record\'s bytes changes nothing a later fetch or a consumer sees', async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, OWNED);
    const fetches: [string, () => Promise<{ key: Uint8Array | null; value: Uint8Array | null; headers: readonly RecordHeader[] }[]>][] = [
      ['broker.fetch', () => suite.target.broker.fetch({ topic, partition: 0, offset: 0n })],
      ['client.fetch', () => suite.client.fetch({ topic, partition: 0, offset: 0n })],
    ];
    for (const [api, fetch] of fetches) {
      for (const record of await fetch()) scribble(record as Readable);
      for (const [other, again] of fetches) expect((await again()).map(contents), `${api} wrote, ${other} read`).toEqual(OWNED_CONTENTS);
      for (const [reader, read] of consumers(suite)) {
        expect(await readAll(read(topic, { group: unique('g') })), `${api} wrote, ${reader} read`).toEqual(OWNED_CONTENTS);
      }
    }
  });
});

/** The contents of the first OWNED.length messages of a new stream, acked; the stream closed. */
async function readAll(stream: Stream): Promise<string[]> {
  const { messages } = await take(stream, OWNED.length);
  const seen = messages.map(contents);
  await Promise.all(messages.map((message) => message.ack()));
  await stream.close();
  return seen;
}
