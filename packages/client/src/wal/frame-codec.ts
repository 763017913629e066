/**
 * The FileBuffer's on-disk format. A WAL directory holds segment files named by a sequence
 * number (segment-names.ts); each is a run of CRC-framed frames, appended only:
 *
 *   Segment      => Frame(HEADER) Frame*
 *   Frame        =>                                byte offset in the frame
 *     length       uint32                          0   bytes after crc: 1 + body length
 *     crc          uint32                          4   CRC-32C of kind .. end of body
 *     kind         uint8                           8   1 HEADER, 2 RECORD, 3 SEAL, 4 COMMIT
 *     body         (length - 1) bytes              9
 *
 *   HEADER body  => magic "BWAL" (4 bytes)  version uint8 (1)
 *                   segmentSeq uint64  firstBatchSeq uint64  firstRecordSeq uint64
 *                   The sequences this segment continues from: a segment starts on a batch
 *                   boundary, and the numbering never restarts, even after clear().
 *   RECORD body  => RecordBatch v2 holding exactly one record, baseOffset = record sequence
 *                   (record-codec.ts): one record format on disk, on the wire and here.
 *   SEAL body    => batchSeq uint64  recordCount uint32
 *                   The recordCount RECORD frames since the previous SEAL form batch batchSeq.
 *   COMMIT body  => batchSeq uint64
 *                   Every batch up to and including batchSeq is committed (commits are in order).
 *
 * Integers are big-endian. A batch never spans two segments: a segment rolls only right after a
 * SEAL. Recovery (recovery.ts) accepts a torn or bad frame only at the tail of the last segment,
 * with no valid frame after it.
 */
import { crc32c } from '@brook/protocol';

export const FrameKind = Object.freeze({ HEADER: 1, RECORD: 2, SEAL: 3, COMMIT: 4 } as const);
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export const FRAME_HEADER_BYTES = 9;
/** A length beyond this is garbage, not a frame: the largest is a record of WAL_LIMITS.maxBytes. */
export const FRAME_BYTES_MAX = 64 * 1024 * 1024 + 1024;

const KIND_AT = 8;
const MAGIC = Uint8Array.from([0x42, 0x57, 0x41, 0x4c]); // "BWAL"
const VERSION = 1;
const HEADER_BODY_BYTES = MAGIC.length + 1 + 3 * 8;

export interface SegmentHeader {
  readonly segmentSeq: number;
  readonly firstBatchSeq: number;
  readonly firstRecordSeq: number;
}

export interface Frame {
  readonly kind: FrameKind;
  /** A view into the decoder's buffer: valid until the next `push`. */
  readonly body: Uint8Array;
  /** Where the frame starts in the stream and how many bytes it takes. */
  readonly position: number;
  readonly size: number;
}

export function encodeFrame(kind: FrameKind, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 1 + body.length);
  bytes[KIND_AT] = kind;
  bytes.set(body, FRAME_HEADER_BYTES);
  view.setUint32(4, crc32c(bytes, KIND_AT, bytes.length));
  return bytes;
}

function u64s(...values: number[]): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setBigUint64(i * 8, BigInt(value)));
  return { bytes, view };
}

export function headerFrame(header: SegmentHeader): Uint8Array {
  const body = new Uint8Array(HEADER_BODY_BYTES);
  body.set(MAGIC, 0);
  body[MAGIC.length] = VERSION;
  body.set(u64s(header.segmentSeq, header.firstBatchSeq, header.firstRecordSeq).bytes, MAGIC.length + 1);
  return encodeFrame(FrameKind.HEADER, body);
}

export function sealFrame(batchSeq: number, recordCount: number): Uint8Array {
  const body = new Uint8Array(12);
  body.set(u64s(batchSeq).bytes, 0);
  new DataView(body.buffer).setUint32(8, recordCount);
  return encodeFrame(FrameKind.SEAL, body);
}

export function commitFrame(batchSeq: number): Uint8Array {
  return encodeFrame(FrameKind.COMMIT, u64s(batchSeq).bytes);
}

/** The body parsers return undefined for a body of the wrong shape: the caller names the file. */
export function parseHeader(body: Uint8Array): SegmentHeader | undefined {
  if (body.length !== HEADER_BODY_BYTES || MAGIC.some((byte, i) => body[i] !== byte) || body[MAGIC.length] !== VERSION) return undefined;
  const view = viewOf(body);
  const at = MAGIC.length + 1;
  const header = { segmentSeq: u64(view, at), firstBatchSeq: u64(view, at + 8), firstRecordSeq: u64(view, at + 16) };
  // A first segment's header is checked against nothing before it: a NaN here would be the numbering.
  return Object.values(header).some(Number.isNaN) ? undefined : header;
}

export function parseSeal(body: Uint8Array): { batchSeq: number; recordCount: number } | undefined {
  if (body.length !== 12) return undefined;
  const view = viewOf(body);
  return { batchSeq: u64(view, 0), recordCount: view.getUint32(8) };
}

export function parseCommit(body: Uint8Array): number | undefined {
  return body.length === 8 ? u64(viewOf(body), 0) : undefined;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Sequences stay far below 2^53; a larger value is corruption and reads as NaN, which no check accepts. */
function u64(view: DataView, at: number): number {
  const value = view.getBigUint64(at);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : Number.NaN;
}

/**
 * The position of the first whole, CRC-valid frame in `bytes`, or undefined. Recovery's test for "is anything written after this bad frame?": a torn write leaves
 * nothing valid behind it, so a valid frame further on means the bad one is damage, not a tear.
 * It tries every offset (alignment is lost after a bad frame); only plausible lengths and kinds
 * pay for a CRC, so zeros and random garbage are skipped at a byte compare each.
 */
export function findFrame(bytes: Uint8Array): number | undefined {
  const view = viewOf(bytes);
  for (let at = 0; at + FRAME_HEADER_BYTES <= bytes.length; at++) {
    const length = view.getUint32(at);
    const kind = bytes[at + KIND_AT]!;
    if (length < 1 || at + 8 + length > bytes.length || kind < FrameKind.HEADER || kind > FrameKind.COMMIT) continue;
    if (crc32c(bytes, at + KIND_AT, at + 8 + length) === view.getUint32(at + 4)) return at;
  }
  return undefined;
}

export type DecodeStep =
  | { readonly kind: 'frame'; readonly frame: Frame }
  /** Every byte pushed so far is consumed by whole frames, or the rest needs more bytes. */
  | { readonly kind: 'need-more' }
  | { readonly kind: 'bad'; readonly position: number; readonly reason: 'bad-length' | 'bad-crc' | 'bad-kind' };

/**
 * Incremental frame parser: push chunks of a segment as they are read, call `next()` until it
 * needs more. A state machine over two states, waiting for a frame header or for the rest of a
 * frame whose length it knows, so a frame may straddle any number of chunks. After `bad`, the
 * decoder stays bad: nothing after a broken frame can be trusted to be aligned.
 */
export class FrameDecoder {
  private buffer = new Uint8Array(0);
  private start = 0;
  /** Stream position of buffer[0]. */
  private base = 0;
  private state: { kind: 'header' } | { kind: 'body'; size: number } | { kind: 'bad'; step: DecodeStep } = { kind: 'header' };

  /** Bytes pushed but not yet returned as frames: a torn tail when the stream has ended. */
  get pendingBytes(): number {
    return this.buffer.length - this.start;
  }

  /** How many more bytes the current state needs: a reader asks for at least this much, so a
   * large frame arrives in one read instead of being re-joined chunk by chunk. */
  get bytesWanted(): number {
    const need = this.state.kind === 'body' ? this.state.size : FRAME_HEADER_BYTES;
    return Math.max(0, need - this.pendingBytes);
  }

  /** Stream position of the first byte not yet returned as part of a frame. */
  get position(): number {
    return this.base + this.start;
  }

  push(chunk: Uint8Array): void {
    const rest = this.buffer.subarray(this.start);
    const joined = new Uint8Array(rest.length + chunk.length);
    joined.set(rest, 0);
    joined.set(chunk, rest.length);
    this.base += this.start;
    this.buffer = joined;
    this.start = 0;
  }

  next(): DecodeStep {
    const state = this.state;
    if (state.kind === 'bad') return state.step;
    const available = this.buffer.length - this.start;
    if (state.kind === 'header') {
      if (available < FRAME_HEADER_BYTES) return { kind: 'need-more' };
      const length = viewOf(this.buffer).getUint32(this.start);
      if (length < 1 || length > FRAME_BYTES_MAX) return this.fail('bad-length');
      this.state = { kind: 'body', size: 8 + length };
      return this.next();
    }
    if (available < state.size) return { kind: 'need-more' };
    return this.frameOf(state.size);
  }

  private frameOf(size: number): DecodeStep {
    const { buffer, start } = this;
    const stored = viewOf(buffer).getUint32(start + 4);
    if (crc32c(buffer, start + KIND_AT, start + size) !== stored) return this.fail('bad-crc');
    const kind = buffer[start + KIND_AT]!;
    if (kind < FrameKind.HEADER || kind > FrameKind.COMMIT) return this.fail('bad-kind');
    const frame: Frame = { kind: kind as FrameKind, body: buffer.subarray(start + FRAME_HEADER_BYTES, start + size), position: this.position, size };
    this.start += size;
    this.state = { kind: 'header' };
    return { kind: 'frame', frame };
  }

  private fail(reason: 'bad-length' | 'bad-crc' | 'bad-kind'): DecodeStep {
    const step: DecodeStep = { kind: 'bad', position: this.position, reason };
    this.state = { kind: 'bad', step };
    return step;
  }
}
