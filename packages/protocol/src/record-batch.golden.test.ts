/**
 * Brook's batches against an independent Kafka client's: kafkajs 2.2.4's RecordBatch v2 encoder
 * (src/protocol/recordBatch/v0) must produce the same bytes, and each side must decode the other's.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBatch,
  encodeBatch,
  type EncodeBatchOptions,
  type LogRecord,
  type RecordHeader,
  type RecordInput,
} from './record-batch.js';

const require = createRequire(import.meta.url);
// kafkajs is CommonJS and untyped below its entry point.
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const kafkajsDecodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js');
const KafkajsDecoder = require('kafkajs/src/protocol/decoder.js');
const Long = require('kafkajs/src/utils/long.js');

type KafkajsHeaderValue = Buffer | string;
interface KafkajsDecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/**
 * kafkajs takes headers as an object: one entry per key, an array for a repeated key. So the
 * Brook headers given here must list a repeated key's values next to each other, and avoid keys
 * that look like array indices (JS orders those first).
 */
function kafkajsHeaders(
  headers: readonly RecordHeader[],
  stringValues: ReadonlySet<string>,
): Record<string, KafkajsHeaderValue | KafkajsHeaderValue[]> {
  const grouped: Record<string, KafkajsHeaderValue[]> = {};
  for (const { key, value } of headers) {
    if (value === null) throw new Error('kafkajs cannot encode a null header value');
    const converted = stringValues.has(key) ? new TextDecoder().decode(value) : Buffer.from(value);
    (grouped[key] ??= []).push(converted);
  }
  return Object.fromEntries(Object.entries(grouped).map(([key, values]) => [key, values.length === 1 ? values[0]! : values]));
}

async function kafkajsEncode(
  records: readonly RecordInput[],
  options: EncodeBatchOptions = {},
  stringHeaderValues = new Set<string>(),
): Promise<Uint8Array> {
  const firstTimestamp = records[0]!.timestamp;
  const batch = await RecordBatch({
    firstOffset: Long.fromValue(options.baseOffset ?? 0n),
    firstTimestamp,
    maxTimestamp: Math.max(...records.map((r) => r.timestamp)),
    partitionLeaderEpoch: options.partitionLeaderEpoch ?? 0,
    lastOffsetDelta: records.length - 1,
    producerId: Long.fromValue(options.producerId ?? -1n),
    producerEpoch: options.producerEpoch ?? -1,
    firstSequence: options.baseSequence ?? -1,
    records: records.map((record, i) =>
      kafkajsRecord({
        offsetDelta: i,
        timestampDelta: record.timestamp - firstTimestamp,
        key: record.key && Buffer.from(record.key),
        value: record.value && Buffer.from(record.value),
        headers: kafkajsHeaders(record.headers ?? [], stringHeaderValues),
      }),
    ),
  });
  return new Uint8Array(batch.buffer);
}

function expectDecodedAs(decoded: LogRecord[], inputs: readonly RecordInput[], baseOffset: bigint): void {
  expect(decoded).toHaveLength(inputs.length);
  decoded.forEach((record, i) => {
    const input = inputs[i]!;
    expect(record.offset).toBe(baseOffset + BigInt(i));
    expect(record.timestamp).toBe(input.timestamp);
    expect(record.key).toEqual(input.key);
    expect(record.value).toEqual(input.value);
    expect(record.headers).toEqual(input.headers ?? []);
  });
}

const T0 = 1_700_000_000_000;

const cases: { name: string; records: RecordInput[]; options?: EncodeBatchOptions; stringHeaderValues?: string[] }[] = [
  {
    name: 'several records, varied timestamp deltas (negative, > 2^31 ms), producer fields, baseOffset',
    records: [
      { key: utf8('user-1'), value: utf8('{"total":12}'), timestamp: T0 },
      { key: utf8('user-2'), value: utf8('second'), timestamp: T0 + 5 },
      { key: utf8('user-1'), value: utf8('earlier than the first'), timestamp: T0 - 70_000 },
      { key: utf8('user-3'), value: new Uint8Array(300).fill(0xab), timestamp: T0 + 3_000_000_000 },
      { key: utf8('user-4'), value: utf8('last'), timestamp: T0 + 1 },
    ],
    options: { baseOffset: 1_234_567_890_123n, producerId: 4_242n, producerEpoch: 7, baseSequence: 99, partitionLeaderEpoch: 3 },
  },
  {
    name: 'null key, null value, empty key and value',
    records: [
      { key: null, value: utf8('no key'), timestamp: T0 },
      { key: utf8('tombstone'), value: null, timestamp: T0 },
      { key: new Uint8Array(0), value: new Uint8Array(0), timestamp: T0 },
      { key: null, value: null, timestamp: T0 },
    ],
  },
  {
    name: 'headers: bytes and string values, a repeated key, a unicode key, an empty value',
    records: [
      {
        key: utf8('k'),
        value: utf8('v'),
        timestamp: T0,
        headers: [
          { key: 'trace-id', value: utf8('4bf92f3577b34da6') },
          { key: 'tag', value: utf8('red') },
          { key: 'tag', value: utf8('blue') },
          { key: 'ünïcödé-ключ-🔑', value: Uint8Array.from([0, 1, 2, 255]) },
          { key: 'empty', value: new Uint8Array(0) },
        ],
      },
      { key: utf8('k2'), value: utf8('v2'), timestamp: T0 + 10, headers: [{ key: 'origin', value: utf8('brook') }] },
    ],
    options: { baseOffset: 5n },
    stringHeaderValues: ['trace-id', 'origin'],
  },
  {
    name: 'one record of 100 KiB, baseOffset near 2^62',
    records: [{ key: utf8('big'), value: Uint8Array.from({ length: 100 * 1024 }, (_, i) => i & 0xff), timestamp: 0 }],
    options: { baseOffset: 2n ** 62n, producerId: 0n, producerEpoch: 0, baseSequence: 0 },
  },
];

describe('Brook batches are byte-identical to kafkajs batches', () => {
  it.each(cases)('$name', async ({ records, options, stringHeaderValues }) => {
    const theirs = await kafkajsEncode(records, options, new Set(stringHeaderValues));
    const ours = encodeBatch(records, options);
    expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
  });

  it.each(cases)("Brook decodes kafkajs's bytes: $name", async ({ records, options, stringHeaderValues }) => {
    const theirs = await kafkajsEncode(records, options, new Set(stringHeaderValues));
    const { header, records: decoded } = decodeBatch(theirs);
    expect(header.recordCount).toBe(records.length);
    expect(header.producerId).toBe(options?.producerId ?? -1n);
    expectDecodedAs(decoded, records, options?.baseOffset ?? 0n);
  });

  it.each(cases)("kafkajs decodes Brook's bytes: $name", async ({ records, options }) => {
    const batch = await kafkajsDecodeBatch(new KafkajsDecoder(Buffer.from(encodeBatch(records, options))));
    const decoded: KafkajsDecodedRecord[] = batch.records;
    expect(decoded).toHaveLength(records.length);
    decoded.forEach((record, i) => {
      const input = records[i]!;
      expect(record.offset).toBe(String((options?.baseOffset ?? 0n) + BigInt(i)));
      expect(record.timestamp).toBe(String(input.timestamp));
      expect(record.key === null ? null : new Uint8Array(record.key)).toEqual(input.key);
      expect(record.value === null ? null : new Uint8Array(record.value)).toEqual(input.value);
    });
  });

  it('for arbitrary records and options', async () => {
    // Header keys here are unique per record and prefixed, so kafkajs's object form keeps their order.
    const header = fc.record({ key: fc.string({ unit: 'binary', maxLength: 8 }).map((k) => `h-${k}`), value: fc.uint8Array({ maxLength: 16 }) });
    const headerList = fc.uniqueArray(header, { maxLength: 4, selector: (h) => h.key });
    const record = fc.record({
      key: fc.option(fc.uint8Array({ maxLength: 32 }), { nil: null }),
      value: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null }),
      timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
      headers: headerList,
    });
    const options = fc.record({
      baseOffset: fc.bigInt(0n, 2n ** 62n),
      producerId: fc.bigInt(-1n, 2n ** 62n),
      producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
      baseSequence: fc.integer({ min: -1, max: 0x7fffffff }),
      partitionLeaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 20 }), options, async (records, batchOptions) => {
        const theirs = await kafkajsEncode(records, batchOptions);
        expect(Buffer.from(encodeBatch(records, batchOptions)).equals(Buffer.from(theirs))).toBe(true);
        expectDecodedAs(decodeBatch(theirs).records, records, batchOptions.baseOffset);
      }),
      { numRuns: 300 },
    );
  });
});
