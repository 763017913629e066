/**
 * Zig-zag varints, as Kafka's record format uses them (protobuf's sint32 / sint64).
 *
 * Zig-zag maps signed to unsigned so that small magnitudes stay small whatever their sign
 * (0 → 0, -1 → 1, 1 → 2, -2 → 3, …); the unsigned value is then written 7 bits per byte, least
 * significant group first, with the high bit of each byte meaning "another byte follows".
 *
 * - varint: int32 on the wire, 1 to 5 bytes.
 * - varlong: int64 on the wire, 1 to 10 bytes. Here the value is a JS number, so Brook supports
 *   the safe integers, -(2^53 - 1) .. 2^53 - 1 (±285,000 years of milliseconds, which is what
 *   varlongs carry in a batch: timestamp deltas). A wire value outside that range decodes to the
 *   failure 'out-of-range', never to a rounded number.
 *
 * Writers take values the caller has already validated; a value outside the type is a bug and
 * fails an assertion (with a constant message: building one per call would cost more than the
 * write). Readers never throw on bad bytes: see VarintReader.
 */
import { assert } from './errors.js';

export const VARINT_MAX_BYTES = 5;
export const VARLONG_MAX_BYTES = 10;

const TWO_POW_31 = 0x80000000;

/** Why a read failed: input ended mid-value; more bytes or bits than the type holds; a varlong
 * that is a valid int64 but not a safe integer. */
export type VarintFailure = 'truncated' | 'overlong' | 'out-of-range';

function isInt32(value: number): boolean {
  return value === (value | 0);
}

function zigZag32(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

export function sizeOfVarint(value: number): number {
  assert(isInt32(value), 'varint value is not an int32');
  const unsigned = zigZag32(value);
  if (unsigned < 0x80) return 1;
  if (unsigned < 0x4000) return 2;
  if (unsigned < 0x200000) return 3;
  if (unsigned < 0x10000000) return 4;
  return 5;
}

/** Writes `value` at `position` and returns the position after it. */
export function writeVarint(bytes: Uint8Array, position: number, value: number): number {
  assert(isInt32(value), 'varint value is not an int32');
  return writeUnsigned32(bytes, position, zigZag32(value));
}

function writeUnsigned32(bytes: Uint8Array, position: number, unsigned: number): number {
  let rest = unsigned;
  while (rest >= 0x80) {
    bytes[position++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  bytes[position++] = rest;
  return position;
}

export function sizeOfVarlong(value: number): number {
  // Zig-zag agrees for both widths on int32 values, so they take the cheap path.
  if (isInt32(value)) return sizeOfVarint(value);
  assert(Number.isSafeInteger(value), 'varlong value is not a safe integer');
  // The zig-zag value is 2 * magnitude (+ 1 if negative); the + 1 never crosses a power of two,
  // and doubling or halving by 128 is exact, so this counts 7-bit groups without rounding.
  let rest = 2 * magnitudeOf(value);
  let size = 1;
  while (rest >= 0x80) {
    rest = Math.floor(rest / 0x80);
    size++;
  }
  return size;
}

/** Writes `value` at `position` and returns the position after it. */
export function writeVarlong(bytes: Uint8Array, position: number, value: number): number {
  if (isInt32(value)) return writeUnsigned32(bytes, position, zigZag32(value));
  assert(Number.isSafeInteger(value), 'varlong value is not a safe integer');
  // The zig-zag value can need 54 bits, past what a double holds exactly, so it is built as two
  // 32-bit halves: low = (magnitude mod 2^31) * 2 + sign, high = magnitude / 2^31.
  const magnitude = magnitudeOf(value);
  let low = ((magnitude % TWO_POW_31) * 2 + (value < 0 ? 1 : 0)) >>> 0;
  let high = Math.floor(magnitude / TWO_POW_31);
  while (high !== 0 || low >= 0x80) {
    bytes[position++] = (low & 0x7f) | 0x80;
    low = ((low >>> 7) | (high << 25)) >>> 0;
    high >>>= 7;
  }
  bytes[position++] = low;
  return position;
}

/** Zig-zag value without its sign bit: v for v >= 0, -v - 1 for v < 0. */
function magnitudeOf(value: number): number {
  return value < 0 ? -value - 1 : value;
}

/**
 * Reads varints from bytes[position .. end).
 *
 * Failure is sticky rather than thrown, so a caller can read every field of a record and check
 * `failure` once: a failed read records the first reason, moves `position` to `end` (so later
 * reads fail too) and returns 0. Non-minimal encodings (a value padded with 0x80 bytes) are
 * accepted as long as they fit the type's byte limit, as Kafka's own readers do.
 */
export class VarintReader {
  position: number;
  failure: VarintFailure | null = null;

  constructor(
    readonly bytes: Uint8Array,
    position: number,
    readonly end: number,
  ) {
    assert(
      Number.isInteger(position) && Number.isInteger(end) && position >= 0 && position <= end && end <= bytes.length,
      'VarintReader range outside the bytes',
      { position, end, bytes: bytes.length },
    );
    this.position = position;
  }

  varint(): number {
    return this.oneByte() ?? this.varintOfBytes();
  }

  varlong(): number {
    return this.oneByte() ?? this.varlongOfBytes();
  }

  /**
   * The value of a one-byte varint or varlong at the position (the same for both widths), moved
   * past; undefined if the next byte is not a whole one. The usual case (most lengths and deltas
   * in a batch are below 64), read without the loops.
   */
  private oneByte(): number | undefined {
    const first = this.position < this.end ? this.bytes[this.position]! : 0x80;
    if (first >= 0x80) return undefined;
    this.position += 1;
    return (first >>> 1) ^ -(first & 1);
  }

  private varintOfBytes(): number {
    const { bytes, end } = this;
    let position = this.position;
    let unsigned = 0;
    for (let shift = 0; ; shift += 7) {
      if (position >= end) return this.fail('truncated');
      const byte = bytes[position++]!;
      // The fifth byte carries bits 28..31 only: anything above is a sixth byte or a 33rd bit.
      if (shift === 28 && byte > 0x0f) return this.fail('overlong');
      unsigned |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    this.position = position;
    return (unsigned >>> 1) ^ -(unsigned & 1);
  }

  private varlongOfBytes(): number {
    const { bytes, end } = this;
    let position = this.position;
    let low = 0;
    let high = 0;
    for (let shift = 0; ; shift += 7) {
      if (position >= end) return this.fail('truncated');
      const byte = bytes[position++]!;
      if (shift < 28) {
        low |= (byte & 0x7f) << shift;
      } else if (shift === 28) {
        low |= (byte & 0x0f) << 28;
        high = (byte & 0x7f) >>> 4;
      } else if (shift < 63) {
        high |= (byte & 0x7f) << (shift - 32);
      } else {
        // The tenth byte carries bit 63 only.
        if (byte > 0x01) return this.fail('overlong');
        high |= byte << 31;
      }
      if (byte < 0x80) break;
    }
    const magnitude = (high >>> 0) * TWO_POW_31 + (low >>> 1);
    const value = low & 1 ? -magnitude - 1 : magnitude;
    if (!Number.isSafeInteger(value)) return this.fail('out-of-range');
    this.position = position;
    return value;
  }

  private fail(failure: VarintFailure): number {
    this.failure ??= failure;
    this.position = this.end;
    return 0;
  }
}
