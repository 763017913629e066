/**
 * The bytes of a memory file: a growable byte array that never moves what it holds. One array
 * doubled on growth copied every byte again at each doubling and paid for zeroing and
 * page-faulting the new array (a fifth of `storage: 'memory'` produce time in the engine
 * benchmark). Here a file up to CHUNK_BYTES lives in one array that doubles (small files, the
 * index and journal files, stay small), and past that in whole chunks of CHUNK_BYTES that are
 * added, never copied. Bytes never written read as zeros.
 */
import { assert } from '../errors.js';

const CHUNK_BYTES = 1024 * 1024;
const FIRST_CHUNK_MIN_BYTES = 256;

export class ChunkedBytes {
  /** chunks[i] holds bytes [i * CHUNK_BYTES, ...); only chunks[0] may be shorter, and only while it is the only one. */
  private chunks: Uint8Array[] = [];

  get capacity(): number {
    if (this.chunks.length <= 1) return this.chunks[0]?.length ?? 0;
    return this.chunks.length * CHUNK_BYTES;
  }

  /** Copies `data` to `position`, growing as needed. */
  write(data: Uint8Array, position: number): void {
    this.ensureCapacity(position + data.length);
    this.forEachPiece(position, position + data.length, (chunk, at, from, length) => chunk.set(data.subarray(from, from + length), at));
  }

  /** Copies bytes [start, end) into `target` at `targetOffset` (zeros past the capacity). */
  readInto(target: Uint8Array, targetOffset: number, start: number, end: number): void {
    assert(start <= end && targetOffset + (end - start) <= target.length, 'read range must fit the target', { start, end, targetBytes: target.length, targetOffset });
    const inside = Math.max(start, Math.min(end, this.capacity));
    this.forEachPiece(start, inside, (chunk, at, from, length) => target.set(chunk.subarray(at, at + length), targetOffset + from));
    if (inside < end) target.fill(0, targetOffset + (inside - start), targetOffset + (end - start));
  }

  /** A copy of bytes [start, end). */
  copyOut(start: number, end: number): Uint8Array {
    const bytes = new Uint8Array(end - start);
    this.readInto(bytes, 0, start, end);
    return bytes;
  }

  /** Sets bytes [start, end) to zero (within capacity). */
  zero(start: number, end: number): void {
    this.forEachPiece(start, Math.min(end, this.capacity), (chunk, at, _from, length) => chunk.fill(0, at, at + length));
  }

  /** Calls `piece` for each chunk part of [start, end): the chunk, the position in it, the offset from `start`, the length. */
  private forEachPiece(start: number, end: number, piece: (chunk: Uint8Array, at: number, from: number, length: number) => void): void {
    let position = start;
    while (position < end) {
      const index = this.chunks.length === 1 ? 0 : Math.floor(position / CHUNK_BYTES);
      const at = position - index * CHUNK_BYTES;
      const length = Math.min(end - position, this.chunks[index]!.length - at);
      piece(this.chunks[index]!, at, position - start, length);
      position += length;
    }
  }

  private ensureCapacity(bytes: number): void {
    if (bytes <= this.capacity) return;
    if (bytes <= CHUNK_BYTES) {
      // One array, doubled: its copies add up to less than CHUNK_BYTES over the file's life.
      const first = this.chunks[0];
      const grown = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(bytes, (first?.length ?? 0) * 2, FIRST_CHUNK_MIN_BYTES)));
      if (first) grown.set(first);
      this.chunks = [grown];
      return;
    }
    if (this.chunks.length === 1 && this.chunks[0]!.length < CHUNK_BYTES) {
      const whole = new Uint8Array(CHUNK_BYTES);
      whole.set(this.chunks[0]!);
      this.chunks[0] = whole;
    }
    while (this.chunks.length * CHUNK_BYTES < bytes) this.chunks.push(new Uint8Array(CHUNK_BYTES));
  }
}
