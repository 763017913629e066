import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBrookError } from '../errors.js';
import { FRAME_HEADER_BYTES, FrameKind, decodeFrame, encodeFrame, type FrameFailure } from './frame.js';
import { JSON_DEPTH_MAX } from './stable-json.js';

const text = new TextEncoder();

function failure(bytes: Uint8Array): { reason: FrameFailure; requestId?: number } {
  try {
    decodeFrame(bytes);
  } catch (error) {
    if (!isBrookError(error, 'INVALID_REQUEST')) throw error;
    return error.details as { reason: FrameFailure; requestId?: number };
  }
  throw new Error('decoded');
}

function rawFrame(kind: number, requestId: number, json: Uint8Array, jsonLength = json.length): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + json.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, requestId);
  view.setUint32(5, jsonLength);
  bytes.set(json, FRAME_HEADER_BYTES);
  return bytes;
}

describe('frame codec', () => {
  it('round-trips kind, requestId, json and data', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(FrameKind)),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.uint8Array({ maxLength: 64 }),
        (kind, requestId, json, data) => {
          const frame = decodeFrame(encodeFrame(kind, requestId, JSON.stringify(json), data));
          expect(frame.kind).toBe(kind);
          expect(frame.requestId).toBe(requestId);
          expect(frame.json).toEqual(JSON.parse(JSON.stringify(json)));
          expect([...frame.data]).toEqual([...data]);
        },
      ),
    );
  });

  it('encodes a frame without data as header and json only', () => {
    const frame = encodeFrame(FrameKind.RESPONSE, 1, '{}');
    expect(frame.length).toBe(FRAME_HEADER_BYTES + 2);
    expect(decodeFrame(frame).data.length).toBe(0);
  });

  it('lays out kind, requestId, jsonLength, json and data as docs/protocol.md says', () => {
    const frame = encodeFrame(FrameKind.REQUEST, 0x01020304, '{"op":"x"}', [Uint8Array.of(0xaa), Uint8Array.of(0xbb, 0xcc)]);
    expect([...frame]).toEqual([3, 1, 2, 3, 4, 0, 0, 0, 10, ...text.encode('{"op":"x"}'), 0xaa, 0xbb, 0xcc]);
  });

  it('writes the JSON as UTF-8, ASCII or not (an ASCII one is written char by char)', () => {
    for (const json of ['{"topic":"orders"}', '{"topic":"Bestellungen-Größe"}', '{"reason":"🙂 \\u0000"}', '{"k":"\u007f\u0080"}']) {
      const frame = encodeFrame(FrameKind.RESPONSE, 7, json, Uint8Array.of(1, 2));
      expect([...frame]).toEqual([4, 0, 0, 0, 7, 0, 0, 0, text.encode(json).length, ...text.encode(json), 1, 2]);
      expect(decodeFrame(frame).json).toEqual(JSON.parse(json));
    }
  });

  it('names every way a frame can be broken, with the requestId once the header is readable', () => {
    expect(failure(new Uint8Array(8))).toStrictEqual({ reason: 'truncated' }); // no requestId key at all
    expect(failure(rawFrame(99, 7, text.encode('{}')))).toEqual({ reason: 'unknown-kind', requestId: 7 });
    expect(failure(rawFrame(3, 7, text.encode('{}'), 3))).toEqual({ reason: 'bad-json-length', requestId: 7 });
    expect(failure(rawFrame(3, 7, new Uint8Array([0x7b, 0xff, 0x7d])))).toEqual({ reason: 'bad-utf8', requestId: 7 });
    expect(failure(rawFrame(3, 7, text.encode('{op')))).toEqual({ reason: 'bad-json', requestId: 7 });
    expect(failure(rawFrame(3, 7, new Uint8Array(0)))).toEqual({ reason: 'bad-json', requestId: 7 });
    expect(failure(rawFrame(3, 7, text.encode('[1]')))).toEqual({ reason: 'not-an-object', requestId: 7 });
    expect(failure(rawFrame(3, 7, text.encode('null')))).toEqual({ reason: 'not-an-object', requestId: 7 });
    for (const scalar of ['5', '"x"', 'true']) expect(failure(rawFrame(3, 7, text.encode(scalar))), scalar).toEqual({ reason: 'not-an-object', requestId: 7 });
    // The top object is level 0: containers down to level JSON_DEPTH_MAX - 1, as stableJson writes.
    const nested = (levels: number) => text.encode(`{"a":${'['.repeat(levels)}${']'.repeat(levels)}}`);
    expect(decodeFrame(rawFrame(3, 7, nested(JSON_DEPTH_MAX - 1))).json).toEqual(JSON.parse(new TextDecoder().decode(nested(JSON_DEPTH_MAX - 1))));
    expect(failure(rawFrame(3, 7, nested(JSON_DEPTH_MAX)))).toEqual({ reason: 'too-deep', requestId: 7 });
    // Objects count as arrays do, the deep one wherever it sits among its siblings.
    const objects = (levels: number) => text.encode(`{"x":[1,{}],"y":${'{"a":'.repeat(levels)}2${'}'.repeat(levels)}}`);
    expect(decodeFrame(rawFrame(3, 7, objects(JSON_DEPTH_MAX - 1))).json).toEqual(JSON.parse(new TextDecoder().decode(objects(JSON_DEPTH_MAX - 1))));
    expect(failure(rawFrame(3, 7, objects(JSON_DEPTH_MAX)))).toEqual({ reason: 'too-deep', requestId: 7 });
    // As deep as a frame's bytes allow: JSON.parse takes it; nothing may recurse over it.
    expect(failure(rawFrame(3, 7, nested(1_000_000)))).toEqual({ reason: 'too-deep', requestId: 7 });
  });

  it('never throws anything but INVALID_REQUEST on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          decodeFrame(bytes);
        } catch (error) {
          expect(isBrookError(error, 'INVALID_REQUEST')).toBe(true);
        }
      }),
    );
  });

  it('rejects a requestId outside uint32 when encoding, or not an integer; takes 0 and exactly 0xffffffff', () => {
    for (const requestId of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => encodeFrame(FrameKind.REQUEST, requestId, '{}'), String(requestId)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', details: { requestId } }));
    }
    for (const requestId of [0, 0xffffffff]) expect(decodeFrame(encodeFrame(FrameKind.REQUEST, requestId, '{}')).requestId).toBe(requestId);
  });

  it('decodes a frame that lies inside a larger buffer (a pooled Buffer), data as a view of it', () => {
    const frame = encodeFrame(FrameKind.RESPONSE, 5, '{"a":1}', Uint8Array.of(1, 2, 3));
    const pool = new Uint8Array(frame.length + 20).fill(0xee);
    pool.set(frame, 11);
    const decoded = decodeFrame(pool.subarray(11, 11 + frame.length));
    expect(decoded).toMatchObject({ kind: FrameKind.RESPONSE, requestId: 5, json: { a: 1 } });
    expect([...decoded.data]).toEqual([1, 2, 3]);
    expect(decoded.data.buffer).toBe(pool.buffer);
  });
});
