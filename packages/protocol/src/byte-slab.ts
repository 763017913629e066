/**
 * Small byte arrays carved from shared slabs, for the allocations made once per record or per
 * batch on the produce path (a short key's bytes, an encoded batch). `new Uint8Array(n)` past
 * V8's 64-byte on-heap limit costs a malloc, a zeroing and, later, a free on the GC's sweeper:
 * ~1-2 µs, a large share of encoding a small batch. A slab is allocated zeroed and each of its
 * bytes is handed out once, never reused, so a view reads as zeros until written, exactly like a
 * fresh array, and nobody else ever writes it. A view keeps its whole slab alive (as a pooled
 * Buffer keeps Node's pool), which is why only arrays up to SLAB_TAKE_BYTES_MAX come from here.
 */
import { markAsUntransferable } from 'node:worker_threads';

const SLAB_BYTES = 256 * 1024;
/** Larger requests get an array of their own: a slab wastes at most this much at its tail. */
export const SLAB_TAKE_BYTES_MAX = 32 * 1024;

/** Every slab made, weakly: whoever keeps a view can tell it shares a slab (isSlabView). */
const slabs = new WeakSet<ArrayBufferLike>();
let slab = newSlab();
/** slab.buffer, kept: reading `.buffer` is a call into the runtime each time. */
let slabBuffer = slab.buffer;
let used = 0;

function startSlab(): void {
  slab = newSlab();
  slabBuffer = slab.buffer;
  used = 0;
}

function newSlab(): Uint8Array {
  const bytes = new Uint8Array(SLAB_BYTES);
  slabs.add(bytes.buffer);
  // Views go to code outside the broker (a consumer's copy, a fetched record): one of them posted
  // to a worker with its buffer in the transfer list would detach the slab, and with it every
  // other view (the tail cache's batches) and the produce path still carving from it. Node marks
  // its own Buffer pool so for the same reason: a transfer then copies (Node 20) or throws.
  markAsUntransferable(bytes.buffer);
  return bytes;
}

/**
 * True for a view into a slab. A cache that copies views so as not to keep a large buffer alive
 * (a socket read holding many frames) need not copy these: the views of one slab are handed out
 * back to back, so a run of cached ones keeps little more than their own bytes alive.
 */
export function isSlabView(bytes: Uint8Array): boolean {
  return slabs.has(bytes.buffer);
}

/** `size` zero bytes: a view into a slab when small enough, else a new array. */
export function slabBytes(size: number): Uint8Array {
  if (size > SLAB_TAKE_BYTES_MAX) return new Uint8Array(size);
  if (used + size > SLAB_BYTES) startSlab();
  const bytes = new Uint8Array(slabBuffer, used, size);
  used += size;
  return bytes;
}

/**
 * A copy of `bytes` the caller owns, in a slab when small enough: for copies made once per batch
 * (a log read hands each reader its own), where a fresh array's malloc costs more than the copy.
 */
export function slabCopy(bytes: Uint8Array): Uint8Array {
  const copy = slabBytes(bytes.length);
  copy.set(bytes);
  return copy;
}

/**
 * The bytes of `text` if it is short and all ASCII (its UTF-8 bytes are then its char codes),
 * copied into a slab a char at a time; undefined otherwise. Nothing is taken from the slab
 * unless the whole string fits and is ASCII.
 */
export function slabAsciiBytes(text: string, lengthMax: number): Uint8Array | undefined {
  const length = text.length;
  if (length > lengthMax) return undefined;
  if (used + length > SLAB_BYTES) startSlab();
  const start = used;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit > 0x7f) {
      slab.fill(0, start, start + i); // the bytes beyond `used` stay zero for the next taker
      return undefined;
    }
    slab[start + i] = unit;
  }
  used += length;
  return new Uint8Array(slabBuffer, start, length);
}
