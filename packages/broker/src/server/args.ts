/**
 * Reads the JSON arguments of a REQUEST with types checked, so a handler sees exactly what the
 * protocol promises and a bad argument is answered with INVALID_REQUEST naming its field
 * (`details.field`), never a TypeError deep inside the broker.
 *
 * Only own properties count: `{}`'s inherited `constructor` is not an argument.
 */
import { checkStringFields, invalidField as invalidArgument } from '@brook/protocol';
import type { StartPosition } from '../groups/subscribe-options.js';

/** Offsets and producer ids on the wire: decimal strings of 0..2^63-1 (JSON numbers lose precision past 2^53). */
const DECIMAL = /^(0|[1-9]\d{0,18})$/;
const INT64_MAX = (1n << 63n) - 1n;
/** A start position's offset: its range is the broker's to check, so "-1" reads as -1n. */
const SIGNED_DIGITS = /^-?\d+$/;
const SIGN_AND_LEADING_ZEROS = /^-?0*/;
/**
 * More significant digits than 2^63 has: the offset is past the end of every log (where the broker
 * clamps it) or, negative, refused all the same, so it is read as 2^63 of its sign instead of
 * parsed: BigInt's time grows with the square of the digits, and a frame can hold millions.
 */
const OFFSET_DIGITS_MAX = 19;

export { invalidArgument };

export function checkInt(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(field, `an integer in [${min}, ${max}]`, value);
  }
  return value;
}

export function checkString(value: unknown, field: string): string {
  checkStringFields({ [field]: value });
  return value as string;
}

export function checkDecimal(value: unknown, field: string): bigint {
  if (typeof value !== 'string' || !DECIMAL.test(value) || BigInt(value) > INT64_MAX) {
    throw invalidArgument(field, 'a decimal string in 0..2^63-1', value);
  }
  return BigInt(value);
}

export class Args {
  constructor(private readonly json: Record<string, unknown>) {}

  private get(name: string): unknown {
    return Object.hasOwn(this.json, name) ? this.json[name] : undefined;
  }

  private has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  string(name: string): string {
    return checkString(this.get(name), name);
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : undefined;
  }

  int(name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    return checkInt(this.get(name), name, min, max);
  }

  optionalInt(name: string, min: number, max?: number): number | undefined {
    return this.has(name) ? this.int(name, min, max) : undefined;
  }

  /**
   * A setting's value as the client sent it, of any JSON type: the broker checks it as it checks a
   * JS caller's (a number within its limit, one of its names), so 1.5, '5' or null gets the
   * broker's own code over the wire as in process (INVALID_CONFIG for settings). The type
   * parameter only names what the broker expects; nothing here makes it so.
   */
  optionalSetting<T>(name: string): T | undefined {
    return this.get(name) as T | undefined;
  }

  optionalBoolean(name: string): boolean | undefined {
    const value = this.get(name);
    if (value !== undefined && typeof value !== 'boolean') throw invalidArgument(name, 'a boolean', value);
    return value;
  }

  offset(name: string): bigint {
    return checkDecimal(this.get(name), name);
  }

  optionalDecimal(name: string): bigint | undefined {
    return this.has(name) ? this.offset(name) : undefined;
  }

  optionalDecimals(name: string): bigint[] | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw invalidArgument(name, 'an array of decimal strings', value);
    return value.map((item, i) => checkDecimal(item, `${name}[${i}]`));
  }

  /**
   * `[[a, b], ...]`, each element read by `first` and `second` (given the element's field name);
   * with `third`, an element may have a third item too (`[a, b, c]`), read by it. A pair costs
   * what it cost before third items were known.
   */
  optionalPairs<A, B>(name: string, first: (value: unknown, field: string) => A, second: (value: unknown, field: string) => B): [A, B][];
  optionalPairs<A, B, C>(
    name: string, first: (value: unknown, field: string) => A, second: (value: unknown, field: string) => B, third: (value: unknown, field: string) => C,
  ): [A, B, C?][];
  optionalPairs<A, B, C>(
    name: string,
    first: (value: unknown, field: string) => A,
    second: (value: unknown, field: string) => B,
    third?: (value: unknown, field: string) => C,
  ): [A, B, C?][] {
    const value = this.get(name);
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw invalidArgument(name, 'an array of pairs', value);
    return value.map((pair: unknown, index) => {
      const field = `${name}[${index}]`;
      const triple = third !== undefined && Array.isArray(pair) && pair.length === 3;
      if (!Array.isArray(pair) || (pair.length !== 2 && !triple)) throw invalidArgument(field, third ? 'a pair [_, _] or a triple [_, _, _]' : 'a pair [_, _]', pair);
      const read: [A, B, C?] = [first(pair[0], `${field}[0]`), second(pair[1], `${field}[1]`)];
      if (triple) read.push(third(pair[2], `${field}[2]`));
      return read;
    });
  }

  optionalStartPosition(name: string): StartPosition | undefined {
    return this.has(name) ? this.startPosition(name) : undefined;
  }

  /**
   * A start position as the broker takes it: `{ offset: "123" }` with its offset as a bigint. Only
   * the offset's wire form is checked here (a string of digits, a sign allowed); any other value
   * goes to the broker as it is, which refuses a bad one (a negative offset, an unknown name, a
   * timestamp outside 0..2^53-1) with its own code, INVALID_CONFIG, as in process.
   */
  startPosition(name: string): StartPosition {
    const value = this.get(name);
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, 'offset')) return value as StartPosition;
    const offset = (value as { offset: unknown }).offset;
    if (typeof offset !== 'string' || !SIGNED_DIGITS.test(offset)) throw invalidArgument(`${name}.offset`, 'a decimal string', offset);
    // Its other keys go on with it, for the broker to refuse (checkStartPositionKeys), not drop.
    return { ...(value as object), offset: signedOffset(offset) } as StartPosition;
  }
}

/** SIGNED_DIGITS as a bigint; past OFFSET_DIGITS_MAX significant digits, 2^63 of its sign. */
function signedOffset(digits: string): bigint {
  const significant = digits.replace(SIGN_AND_LEADING_ZEROS, ''); // '' for zero, which BigInt reads as 0n
  const magnitude = significant.length > OFFSET_DIGITS_MAX ? 1n << 63n : BigInt(significant);
  return digits.startsWith('-') ? -magnitude : magnitude;
}
