/**
 * What each settlement adds to a settle request's frame, in bytes of JSON: the SettleBatcher keeps
 * every request within the server's frameBytesMax by these, counted as cheaply as the ack path
 * allows (an upper bound, never an undercount).
 */
import { FRAME_HEADER_BYTES, stableJson } from '@brook/protocol';

/** A settle frame's bytes beside its entries: header, every key, the largest subscription number. */
export const SETTLE_FRAME_BASE_BYTES = FRAME_HEADER_BYTES
  + stableJson({ ack: [], alive: true, extend: [], nack: [], op: 'settle', reject: [], release: [], subscription: Number.MAX_SAFE_INTEGER }).length;

/** Digits of a non-negative integer (an id, a delay): cheaper than String(n).length on the ack path. */
export function decimalDigits(n: number): number {
  let digits = 1;
  for (let bound = 10; n >= bound && digits < 16; bound *= 10) digits += 1;
  return digits;
}

/** Most bytes an ack or release of `id` adds: a range of its own, `[id,id],`. */
export function idEntryBytes(id: number): number {
  return 2 * decimalDigits(id) + 4;
}

/** Bytes a reason adds to an entry: measured exactly (JSON escapes, UTF-8), as reasons are rare. */
export function reasonBytes(reason: string): number {
  return Buffer.byteLength(JSON.stringify(reason));
}

/** Bytes a reject adds beside its reason's JSON string: `[id,],`. */
export function rejectEntryBytes(id: number): number {
  return decimalDigits(id) + 4;
}

/** The most bytes the JSON string of a reject's reason may take for the reject to fit a settle frame alone. */
export function rejectReasonJsonBytesMax(frameBytesMax: number, id: number): number {
  return frameBytesMax - SETTLE_FRAME_BASE_BYTES - rejectEntryBytes(id);
}

/** Bytes a nack or extend adds: `[id,ms],`, ms null for the default. */
export function timedEntryBytes(id: number, ms: number | null): number {
  return decimalDigits(id) + (ms === null ? 4 : decimalDigits(ms)) + 4;
}
