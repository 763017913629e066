/**
 * CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2 and of Brook's own files.
 *
 * Reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF: the variant of
 * RFC 3720 (iSCSI) and of SSE4.2's `crc32` instruction, so check values are "123456789" →
 * 0xE3069283.
 *
 * Speed matters: a record is checksummed when a producer encodes it, when the broker checks the
 * produce, in each journal write, and when a consumer decodes its delivery. Node has no built-in
 * CRC-32C, so there are two implementations with the same results:
 *
 * - hardware: @node-rs/crc32 (an optional dependency, prebuilt for common platforms) runs
 *   SSE4.2's / ARMv8's crc32c instruction, about 5 GB/s here against 1.5 GB/s, but each call
 *   crosses into native code (~200 ns), so it only takes inputs of NATIVE_MIN_BYTES or more;
 * - portable: slice-by-8 (Intel's "Slicing-by-8"): eight 256-entry tables fold eight input bytes
 *   per step instead of one. Reading those eight bytes as two 32-bit words through an Int32Array
 *   roughly doubles the speed again over eight separate byte loads, which is why the main loop
 *   needs a 4-byte-aligned start and a little-endian host; the few bytes before the aligned start
 *   and after the last whole step go through the one-table loop.
 *
 * BROOK_CRC32C=portable turns the hardware path off (to compare, or to rule it out).
 */
import { createRequire } from 'node:module';
import { assert } from './errors.js';

const CASTAGNOLI_REFLECTED = 0x82f63b78;
const SLICES = 8;
const TABLE_ENTRIES = 256;

/** Below this many bytes, creating the word view costs more than it saves. */
const WORD_PATH_MIN_BYTES = 64;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * TABLES[s * 256 + b] is the CRC contribution of byte b followed by s zero bytes, so slice s
 * folds the byte that sits s positions before the end of an 8-byte step.
 */
const TABLES = buildTables();

function buildTables(): Int32Array {
  const tables = new Int32Array(SLICES * TABLE_ENTRIES);
  for (let byte = 0; byte < TABLE_ENTRIES; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ CASTAGNOLI_REFLECTED : crc >>> 1;
    tables[byte] = crc;
  }
  for (let byte = 0; byte < TABLE_ENTRIES; byte++) {
    let crc = tables[byte]!;
    for (let slice = 1; slice < SLICES; slice++) {
      crc = tables[crc & 0xff]! ^ (crc >>> 8);
      tables[slice * TABLE_ENTRIES + byte] = crc;
    }
  }
  return tables;
}

/** Below this many bytes the native call's fixed cost outweighs its speed (measured: even at ~200 B). */
const NATIVE_MIN_BYTES = 256;

type NativeCrc32c = (input: Uint8Array, initialState?: number) => number;

/** The hardware CRC-32C, or undefined where @node-rs/crc32 is not installed or turned off. */
const nativeCrc32c = loadNative();

function loadNative(): NativeCrc32c | undefined {
  if (process.env['BROOK_CRC32C'] === 'portable') return undefined;
  try {
    const native = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: NativeCrc32c }).crc32c;
    // Trust it only if it agrees with the check value of the standard.
    return native(new TextEncoder().encode('123456789')) === 0xe3069283 ? native : undefined;
  } catch {
    return undefined;
  }
}

/** Which implementation large inputs go to: for benchmarks and the startup line of `brook serve`. */
export const crc32cImplementation: 'hardware' | 'portable' = nativeCrc32c ? 'hardware' : 'portable';

/** Unsigned CRC-32C of bytes[start .. end). */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  checkRange(bytes, start, end);
  if (nativeCrc32c !== undefined && end - start >= NATIVE_MIN_BYTES) return nativeCrc32c(bytes.subarray(start, end));
  return portable(bytes, start, end);
}

/** The same CRC always by slice-by-8: the reference the hardware path is tested against. */
export function crc32cPortable(bytes: Uint8Array, start = 0, end = bytes.length): number {
  checkRange(bytes, start, end);
  return portable(bytes, start, end);
}

function checkRange(bytes: Uint8Array, start: number, end: number): void {
  assert(
    Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= bytes.length,
    'crc32c range outside the bytes',
    { start, end, bytes: bytes.length },
  );
}

function portable(bytes: Uint8Array, start: number, end: number): number {
  if (!LITTLE_ENDIAN_HOST || end - start < WORD_PATH_MIN_BYTES) return ~updateBytewise(-1, bytes, start, end) >>> 0;

  const misalignment = (4 - ((bytes.byteOffset + start) & 3)) & 3;
  const alignedStart = start + misalignment;
  let crc = updateBytewise(-1, bytes, start, alignedStart);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + alignedStart, (end - alignedStart) >>> 2);
  const wordsEnd = words.length & ~1;
  crc = updateWords(crc, words, wordsEnd);
  return ~updateBytewise(crc, bytes, alignedStart + wordsEnd * 4, end) >>> 0;
}

/**
 * The slice-by-8 loop, apart from crc32c so that it only ever sees an Int32Array: callers pass
 * both Buffers and plain Uint8Arrays, and a loop in a function that sees both kept being
 * on-stack-replaced with code for one map and thrown away on the other (the server spent a
 * quarter of its time here, mostly in the interpreter).
 */
function updateWords(crc: number, words: Int32Array, wordsEnd: number): number {
  const T = TABLES;
  for (let w = 0; w < wordsEnd; w += 2) {
    const low = crc ^ words[w]!;
    const high = words[w + 1]!;
    crc =
      T[0x700 + (low & 0xff)]! ^
      T[0x600 + ((low >>> 8) & 0xff)]! ^
      T[0x500 + ((low >>> 16) & 0xff)]! ^
      T[0x400 + (low >>> 24)]! ^
      T[0x300 + (high & 0xff)]! ^
      T[0x200 + ((high >>> 8) & 0xff)]! ^
      T[0x100 + ((high >>> 16) & 0xff)]! ^
      T[high >>> 24]!;
  }
  return crc;
}

/** One table, one byte per step: for short inputs, unaligned edges and big-endian hosts. */
function updateBytewise(crc: number, bytes: Uint8Array, start: number, end: number): number {
  const T = TABLES;
  for (let i = start; i < end; i++) crc = T[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}
