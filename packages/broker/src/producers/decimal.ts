/**
 * Producer ids and offsets in JSON files: non-negative 64-bit integers as decimal strings, since
 * JSON numbers lose precision past 2^53.
 */
const DECIMAL = /^(0|[1-9]\d{0,18})$/;
const INT64_MAX = (1n << 63n) - 1n;

/** Parses a decimal string in 0..2^63-1; throws a plain Error naming `what` (callers wrap it). */
export function parseDecimal(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !DECIMAL.test(value) || BigInt(value) > INT64_MAX) {
    throw new Error(`${what} ${JSON.stringify(value)} is not a decimal integer in 0..2^63-1`);
  }
  return BigInt(value);
}
