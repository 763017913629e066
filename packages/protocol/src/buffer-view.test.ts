/**
 * Batch headers are read and written through one remembered DataView over a whole buffer
 * (buffer-view.ts), so a view's bounds are no longer enforced by the DataView: these check, through
 * the public batch functions, that batches in every kind of buffer read the same as on their own,
 * that a view cut short never reads its neighbours' bytes, and that a patch never writes them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BATCH_HEADER_BYTES,
  checkBatch,
  decodeBatch,
  encodeBatch,
  readBatchHeader,
  setBaseOffset,
  verifyBatch,
  type BatchHeader,
} from './record-batch.js';
import { encodedArbitrary, expectBrookError, expectCorrupt, reseal } from './record-batch.test-support.js';

// Resizable and growable buffers are ES2024, past the lib the project compiles against.
interface Resizable { resize(byteLength: number): void }
const ResizableArrayBuffer = ArrayBuffer as unknown as new (size: number, options: { maxByteLength: number }) => ArrayBuffer & Resizable;
const GrowableSharedArrayBuffer = SharedArrayBuffer as unknown as new (size: number, options: { maxByteLength: number }) => SharedArrayBuffer;

type HostKind = 'array-buffer' | 'node-pool' | 'resizable' | 'shared' | 'growable-shared' | 'fresh';
const hostKinds: readonly HostKind[] = ['array-buffer', 'node-pool', 'resizable', 'shared', 'growable-shared', 'fresh'];

/** `size` bytes of some kind of buffer, filled with `fill`, as a Uint8Array over all of it. */
function host(kind: HostKind, size: number, fill: number): Uint8Array {
  let bytes: Uint8Array;
  switch (kind) {
    case 'array-buffer': bytes = new Uint8Array(new ArrayBuffer(size)); break;
    // A small Buffer.allocUnsafe is a view into Node's shared pool, at a nonzero byteOffset.
    case 'node-pool': bytes = Buffer.allocUnsafe(size); break;
    case 'resizable': bytes = new Uint8Array(new ResizableArrayBuffer(size, { maxByteLength: 2 * size })); break;
    case 'shared': bytes = new Uint8Array(new SharedArrayBuffer(size)); break;
    case 'growable-shared': bytes = new Uint8Array(new GrowableSharedArrayBuffer(size, { maxByteLength: 2 * size })); break;
    case 'fresh': bytes = new Uint8Array(size); break;
  }
  return bytes.fill(fill);
}

/** `batch` copied into a host at `offset`, neighbours `fill` on both sides; returns the batch's view. */
function placed(batch: Uint8Array, kind: HostKind, offset: number, fill: number): { whole: Uint8Array; view: Uint8Array } {
  const whole = host(kind, offset + batch.length + 16, fill);
  whole.set(batch, offset);
  return { whole, view: whole.subarray(offset, offset + batch.length) };
}

const kindArbitrary = fc.constantFrom(...hostKinds);
const fillArbitrary = fc.constantFrom(0x00, 0x02, 0x7f, 0xff);

describe('batch headers in any kind of buffer', () => {
  // First in the file: Node 20's V8 (11.3) can return a detached array's old length from
  // optimized code once a function has seen resizable or growable buffers (the tests below),
  // whatever Brook does; a buffer that was never resizable is what Brook is given.
  it('a batch whose buffer was transferred away (detached) is truncated, and the next buffer reads normally', () => {
    const bytes = encodeBatch([{ key: null, value: new Uint8Array([7]), timestamp: 1 }]);
    const own = new Uint8Array(new ArrayBuffer(bytes.length + 8), 8);
    own.set(bytes);
    const header = readBatchHeader(own); // remembered: the last buffer seen
    structuredClone(own.buffer, { transfer: [own.buffer] });
    expect(own.length).toBe(0);
    expect(checkBatch(own)).toMatchObject({ ok: false, reason: 'truncated' });
    expectCorrupt(() => readBatchHeader(own), 'truncated');
    expectCorrupt(() => decodeBatch(own), 'truncated');
    expect(() => setBaseOffset(own, 1n)).toThrow(/assertion/);
    const next = bytes.slice();
    expect(readBatchHeader(next)).toEqual(header);
    expect(decodeBatch(next).records).toHaveLength(1);
    expectBrookError(() => readBatchHeader(own), 'CORRUPT_BATCH');
  });

  it('read as the same batch wherever it sits, alternating with other buffers', () => {
    fc.assert(
      fc.property(encodedArbitrary, kindArbitrary, fc.nat(40), fillArbitrary, ({ bytes }, kind, offset, fill) => {
        const own = bytes.slice();
        const expected = decodeBatch(own);
        const { view } = placed(own, kind, offset, fill);
        // Each call below switches the remembered buffer between `own` and `view`'s.
        expect(readBatchHeader(view)).toEqual(readBatchHeader(own));
        expect(checkBatch(view)).toEqual(checkBatch(own));
        expect(verifyBatch(view)).toEqual(expected.header);
        expect(decodeBatch(view)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('a view cut short is truncated, even when the rest of the batch follows it in the buffer', () => {
    fc.assert(
      fc.property(encodedArbitrary, kindArbitrary, fc.nat(40), fc.double({ min: 0, max: 1, noNaN: true }), ({ bytes }, kind, offset, cut) => {
        const { whole } = placed(bytes, kind, offset, 0);
        const length = Math.min(bytes.length - 1, Math.floor(cut * bytes.length));
        const short = whole.subarray(offset, offset + length);
        const check = checkBatch(short);
        expect(check.ok === false && check.reason).toBe('truncated');
        expectCorrupt(() => decodeBatch(short), 'truncated');
        expectCorrupt(() => verifyBatch(short, 0, { crcVerified: true }), 'truncated');
        if (length < BATCH_HEADER_BYTES) expectCorrupt(() => readBatchHeader(short), 'truncated');
        else expect(readBatchHeader(short)).toEqual(readBatchHeader(bytes));
        // The same from a position inside the view.
        const at = Math.min(length, 3);
        expect(checkBatch(short, at).ok).toBe(false);
        if (length - at < BATCH_HEADER_BYTES) expectCorrupt(() => readBatchHeader(short, at), 'truncated');
      }),
      { numRuns: 300 },
    );
  });

  it('checkBatch never reads past `end`, though the batch goes on after it', () => {
    const bytes = encodeBatch([{ key: null, value: new Uint8Array(40), timestamp: 1 }]);
    const { view } = placed(bytes, 'node-pool', 5, 0);
    for (let end = 0; end < bytes.length; end++) {
      const check = checkBatch(view, 0, end);
      expect(check.ok === false && check.reason, `end ${end}`).toBe('truncated');
    }
    expect(checkBatch(view, 0, bytes.length).ok).toBe(true);
  });

  it('setBaseOffset writes its eight bytes in the view and nothing around it', () => {
    fc.assert(
      fc.property(encodedArbitrary, kindArbitrary, fc.nat(40), fillArbitrary, fc.bigInt(0n, 2n ** 63n - 1n), ({ bytes }, kind, offset, fill, base) => {
        const { whole, view } = placed(bytes, kind, offset, fill);
        const before = whole.slice();
        setBaseOffset(view, base);
        expect(readBatchHeader(view).baseOffset).toBe(base);
        expect(whole.subarray(0, offset)).toEqual(before.subarray(0, offset));
        expect(whole.subarray(offset + 8)).toEqual(before.subarray(offset + 8));
        // One header too short for the patch: an assertion, nothing written.
        const short = whole.subarray(offset, offset + BATCH_HEADER_BYTES - 1);
        const unpatched = whole.slice();
        expect(() => setBaseOffset(short, 0n)).toThrow(/assertion/);
        expect(whole).toEqual(unpatched);
      }),
      { numRuns: 200 },
    );
  });

  it('a resizable buffer reads its batch after growing past, and shrinking below, the size it had when first read', () => {
    const bytes = encodeBatch([{ key: null, value: new Uint8Array([1, 2, 3]), timestamp: 5 }], { baseOffset: 9n });
    const buffer = new ResizableArrayBuffer(bytes.length, { maxByteLength: 4 * bytes.length });
    const tracking = new Uint8Array(buffer); // length-tracking: follows resizes
    tracking.set(bytes);
    const header: BatchHeader = readBatchHeader(tracking);
    buffer.resize(3 * bytes.length);
    tracking.set(bytes, 2 * bytes.length);
    const later = tracking.subarray(2 * bytes.length);
    expect(readBatchHeader(later)).toEqual(header);
    expect(decodeBatch(later).records.map((r) => r.offset)).toEqual([9n]);
    buffer.resize(bytes.length - 1);
    expect(checkBatch(tracking)).toMatchObject({ ok: false, reason: 'truncated' });
    expectCorrupt(() => decodeBatch(tracking), 'truncated');
    expectCorrupt(() => readBatchHeader(later), 'truncated');
  });

  it('an array small enough to live on V8\'s heap (64 bytes or fewer) is patched and read through its own bytes', () => {
    const batch = encodeBatch([{ key: null, value: null, timestamp: 3 }]);
    for (let size = BATCH_HEADER_BYTES; size <= 64; size++) {
      const small = new Uint8Array(size); // on the heap until its buffer is first asked for
      small.set(batch.subarray(0, BATCH_HEADER_BYTES));
      small[60] = 0; // recordCount 0: an empty batch, the whole of it a header
      const empty = reseal(small.subarray(0, BATCH_HEADER_BYTES));
      setBaseOffset(small, 0x0102030405060708n);
      expect(Array.from(small.subarray(0, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(readBatchHeader(empty).baseOffset).toBe(0x0102030405060708n);
      expect(decodeBatch(empty).records).toEqual([]);
      const fresh = new Uint8Array(size);
      fresh.set(small);
      expect(readBatchHeader(fresh)).toEqual(readBatchHeader(small));
    }
  });
});
