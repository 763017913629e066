/**
 * The WAL codec on its own: the incremental frame parser against every chunking of a stream,
 * its refusals, and the exact batch-size arithmetic that lets a batch fill maxBytes to the byte.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, encodeBatch, type RecordInput } from '@brook/protocol';
import { FRAME_BYTES_MAX, FrameDecoder, FrameKind, commitFrame, headerFrame, parseHeader, sealFrame, type DecodeStep } from '../packages/client/src/wal/frame-codec.js';
import { WAL_LIMITS } from '../packages/client/src/wal/index.js';
import { OpenBatch } from '../packages/client/src/wal/open-batch.js';
import { encodeRecord, frameRecord } from '../packages/client/src/wal/record-codec.js';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function decodeInChunks(stream: Uint8Array, cuts: number[]): { kinds: number[]; positions: number[]; last: DecodeStep; pending: number } {
  const decoder = new FrameDecoder();
  const kinds: number[] = [];
  const positions: number[] = [];
  let last: DecodeStep = { kind: 'need-more' };
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < stream.length).sort((a, b) => a - b), stream.length];
  for (let i = 1; i < bounds.length; i++) {
    decoder.push(stream.subarray(bounds[i - 1], bounds[i]));
    for (last = decoder.next(); last.kind === 'frame'; last = decoder.next()) {
      kinds.push(last.frame.kind);
      positions.push(last.frame.position);
    }
    if (last.kind === 'bad') break;
  }
  return { kinds, positions, last, pending: decoder.pendingBytes };
}

const record: RecordInput = { key: null, value: new Uint8Array(300).fill(7), timestamp: 1_700_000_000_000 };
const frames = [
  headerFrame({ segmentSeq: 3, firstBatchSeq: 10, firstRecordSeq: 99 }),
  frameRecord(encodeRecord(record), 99).frame,
  sealFrame(10, 1),
  commitFrame(10),
];
const stream = concat(frames);

describe('WAL frame codec', () => {
  it('parses the same frames, at the same stream positions, whatever the chunking', () => {
    const starts = frames.map((_, i) => frames.slice(0, i).reduce((n, f) => n + f.length, 0));
    fc.assert(fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 6 }), (cuts) => {
      const { kinds, positions, last, pending } = decodeInChunks(stream, cuts);
      expect(kinds).toEqual([FrameKind.HEADER, FrameKind.RECORD, FrameKind.SEAL, FrameKind.COMMIT]);
      expect(positions).toEqual(starts);
      expect(last.kind).toBe('need-more');
      expect(pending).toBe(0);
    }));
  });

  it('stops at a torn tail with the bytes it could not use', () => {
    const torn = stream.subarray(0, stream.length - 3);
    const { kinds, pending } = decodeInChunks(torn, [50]);
    expect(kinds).toHaveLength(3);
    expect(pending).toBe(frames[3]!.length - 3);
  });

  it('refuses a flipped bit (CRC), a zero or huge length, and stays refused', () => {
    for (const at of [0, 3, 9, 40, frames[0]!.length + 100]) {
      const damaged = stream.slice();
      damaged[at] = damaged[at]! ^ (at < 4 ? 0xff : 0x01);
      const { last } = decodeInChunks(damaged, []);
      expect(last.kind, `byte ${at}`).toBe('bad');
    }
    const zero = concat([new Uint8Array(9), stream]);
    const decoder = new FrameDecoder();
    decoder.push(zero);
    expect(decoder.next()).toEqual({ kind: 'bad', position: 0, reason: 'bad-length' });
    expect(decoder.next().kind).toBe('bad');
  });
});

describe('WAL frames on disk (docs/wal.md)', () => {
  /** length (1 + body), CRC-32C of kind .. end, kind, body: a frame as the format says. */
  function expectedFrame(kind: number, body: number[]): number[] {
    const crc = crc32c(Uint8Array.from([kind, ...body]));
    const u32 = (value: number) => [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
    return [...u32(1 + body.length), ...u32(crc), kind, ...body];
  }
  const u64 = (value: number) => [0, 0, 0, 0, 0, 0, (value >>> 8) & 0xff, value & 0xff];

  it('writes HEADER, SEAL and COMMIT byte for byte', () => {
    expect([...headerFrame({ segmentSeq: 3, firstBatchSeq: 10, firstRecordSeq: 0x1234 })])
      .toEqual(expectedFrame(1, [0x42, 0x57, 0x41, 0x4c, 1, ...u64(3), ...u64(10), ...u64(0x1234)]));
    expect([...sealFrame(0x0102, 5)]).toEqual(expectedFrame(3, [...u64(0x0102), 0, 0, 0, 5]));
    expect([...commitFrame(0x0102)]).toEqual(expectedFrame(4, u64(0x0102)));
  });

  it('writes a RECORD as a one-record RecordBatch whose baseOffset is the record sequence', () => {
    const { frame } = frameRecord(encodeRecord(record), 0x0304);
    const batch = encodeBatch([record], { baseOffset: 0x0304n });
    expect([...frame]).toEqual(expectedFrame(2, [...batch]));
  });

  it('refuses a frame of an unknown kind behind a valid CRC, and a length past FRAME_BYTES_MAX', () => {
    for (const kind of [0, 5]) {
      const decoder = new FrameDecoder();
      decoder.push(Uint8Array.from(expectedFrame(kind, [1, 2, 3])));
      expect(decoder.next(), `kind ${kind}`).toEqual({ kind: 'bad', position: 0, reason: 'bad-kind' });
    }
    const lengthOnly = (length: number) => {
      const decoder = new FrameDecoder();
      const header = new Uint8Array(9);
      new DataView(header.buffer).setUint32(0, length);
      decoder.push(header);
      return decoder.next();
    };
    expect(lengthOnly(FRAME_BYTES_MAX)).toEqual({ kind: 'need-more' });
    expect(FRAME_BYTES_MAX, 'a RECORD frame of the largest batch maxBytes allows').toBeGreaterThanOrEqual(1 + WAL_LIMITS.maxBytes.max);
    expect(lengthOnly(FRAME_BYTES_MAX + 1)).toEqual({ kind: 'bad', position: 0, reason: 'bad-length' });
  });
});

const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 20_000 }), { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 10 }), value: fc.option(fc.uint8Array({ maxLength: 30 }), { nil: null }) }), { maxLength: 3 }),
  timestamp: fc.integer({ min: 0, max: 2 ** 52 }),
});

describe('batch size arithmetic', () => {
  it('predicts encodeBatch(records).length exactly, record by record', () => {
    fc.assert(fc.property(fc.array(recordArb, { minLength: 1, maxLength: 150 }), (records) => {
      const batch = new OpenBatch();
      records.forEach((r, i) => {
        const { buffered } = frameRecord(encodeRecord(r), i);
        expect(batch.encodedBytesWith(buffered.singleBatchBytes, r.timestamp)).toBe(encodeBatch(records.slice(0, i + 1)).length);
        batch.add(buffered);
      });
    }), { numRuns: 200 });
  });
});

describe('segment header parsing', () => {
  const body = (frame: Uint8Array) => frame.subarray(9);
  const good = body(headerFrame({ segmentSeq: 3, firstBatchSeq: 10, firstRecordSeq: 99 }));

  it('reads a header body, and refuses one of another length, magic or version', () => {
    expect(parseHeader(good)).toEqual({ segmentSeq: 3, firstBatchSeq: 10, firstRecordSeq: 99 });
    expect(parseHeader(good.subarray(0, good.length - 1))).toBeUndefined();
    expect(parseHeader(concat([good, Uint8Array.of(0)]))).toBeUndefined();
    for (const at of [0, 3, 4]) {
      const damaged = good.slice();
      damaged[at] = damaged[at]! + 1;
      expect(parseHeader(damaged), `byte ${at}`).toBeUndefined();
    }
  });
});
