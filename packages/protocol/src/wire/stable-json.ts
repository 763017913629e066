/**
 * The JSON of every frame, both ways: keys sorted (so equal payloads are equal bytes, as
 * docs/protocol.md promises), bigints (offsets, producer ids) as decimal strings since a JSON
 * number loses precision past 2^53, and byte arrays as their length (`{"bytes":n}`: frame JSON
 * never carries data, which goes in the frame's data part; error details are for logs).
 *
 * Otherwise it is JSON.stringify's output with sorted keys, the same as fast-json-stable-stringify
 * gives (the tests hold it to that), written straight into one string: no copy of the value with
 * its bigints converted and no array of key/value strings per object, because a frame is encoded
 * for every produce, delivery and settle, and at a few records per frame that garbage was a good
 * part of what a server or client allocated per record.
 */
import { BrookError } from '../errors.js';

/**
 * Frame payloads are a few levels deep. Deeper (or circular) is bad input, not a bug: a request's
 * JSON carries option values as the caller passed them, checked only by the other side.
 */
export const JSON_DEPTH_MAX = 32;

export function stableJson(value: unknown): string {
  return write(value, 0) ?? 'null';
}

/** The JSON of `value`, or undefined where JSON.stringify would leave it out (undefined, functions, symbols). */
function write(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `"${value}"`;
    case 'object':
      return value === null ? 'null' : writeObject(value, depth);
    default:
      return undefined;
  }
}

function writeObject(value: object, depth: number): string | undefined {
  if (depth >= JSON_DEPTH_MAX) {
    throw new BrookError('INVALID_REQUEST', `a frame's JSON may nest at most ${JSON_DEPTH_MAX} levels (a value nested deeper, or circular)`, { depthMax: JSON_DEPTH_MAX });
  }
  if (value instanceof Uint8Array) return `{"bytes":${value.length}}`;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return write(toJSON.call(value), depth + 1);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + (write(value[i], depth + 1) ?? 'null');
    return `${out}]`;
  }
  const keys = Object.keys(value);
  sortKeys(keys);
  let out = '{';
  for (const key of keys) {
    const field = write((value as Record<string, unknown>)[key], depth + 1);
    if (field === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${field}`;
  }
  return `${out}}`;
}

/**
 * Sorts by UTF-16 code units, as Array#sort does by default, but in place by insertion for the
 * handful of keys a frame's objects have: V8's sort allocates working arrays even for three.
 */
function sortKeys(keys: string[]): void {
  if (keys.length > 16) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
}
