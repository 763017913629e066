/**
 * Option objects are checked key by key, in the broker and in the client alike: TypeScript catches
 * a misspelled option, but from JavaScript `{ linger: 5 }` would silently run on the default.
 */
import { BrookError } from './errors.js';

/** Every key of an options type, so the compiler keeps a key table in step with its interface. */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/** The part of a key table that a list of limit names already spells out. */
export function optionKeysOf<K extends string>(names: readonly K[]): Record<K, true> {
  return Object.fromEntries(names.map((name) => [name, true])) as Record<K, true>;
}

/**
 * Refuses an options object with a key `known` does not list (INVALID_CONFIG, `details.option`
 * the key): TypeScript catches a misspelled option, but from JavaScript `{ linger: 5 }` would
 * silently run on the default. `parent` names a nested options object ('reconnect').
 */
export function checkOptionKeys<T>(options: T, known: OptionKeys<T>, parent?: string): void {
  // An array passed for its keys (it has none) and ran on the defaults in process, while the
  // wire refused it as not an object with INVALID_REQUEST.
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const option = parent ?? 'options';
    const got = options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options;
    throw new BrookError('INVALID_CONFIG', `${option} must be an object, got ${got}`, { option });
  }
  const prefix = parent === undefined ? '' : `${parent}.`;
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(known, key)) continue;
    const names = Object.keys(known);
    const suggestion = closestName(key, names);
    const hint = suggestion === undefined ? `known: ${names.map((name) => prefix + name).join(', ')}` : `did you mean ${prefix}${suggestion}?`;
    throw new BrookError('INVALID_CONFIG', `unknown option ${prefix}${key} (${hint})`, {
      option: prefix + key, ...(suggestion !== undefined && { suggestion: prefix + suggestion }),
    });
  }
}

/**
 * Refuses a `signal` option that is not an AbortSignal (INVALID_CONFIG naming it): read as one,
 * `{ signal: 5 }` failed with a TypeError from addEventListener. Checked by what it offers, not
 * instanceof, so a signal of another realm or polyfill still passes.
 */
export function checkSignalOption(signal: unknown, option = 'signal'): void {
  if (signal === undefined) return;
  const usable = typeof signal === 'object' && signal !== null && typeof (signal as AbortSignal).aborted === 'boolean'
    && typeof (signal as AbortSignal).addEventListener === 'function' && typeof (signal as AbortSignal).removeEventListener === 'function';
  if (!usable) throw new BrookError('INVALID_CONFIG', `${option} must be an AbortSignal, got ${signal === null ? 'null' : typeof signal}`, { option });
}

/**
 * A start position given as an object (subscribe's `from`, resetGroup's `to`) names exactly one
 * of `offset` and `timestamp`, checked in the broker and the client alike: a misspelled key beside
 * one of them was dropped, and with both given one silently won.
 */
export function checkStartPositionKeys(position: unknown, option: string): void {
  if (typeof position !== 'object' || position === null || Array.isArray(position)) return;
  checkOptionKeys(position, START_POSITION_KEYS, option);
  if (Object.hasOwn(position, 'offset') && Object.hasOwn(position, 'timestamp')) {
    throw new BrookError('INVALID_CONFIG', `${option} names an offset or a timestamp, not both`, { option });
  }
}

const START_POSITION_KEYS: OptionKeys<{ offset: bigint; timestamp: number }> = { offset: true, timestamp: true };

/**
 * Why a subscribe's handler is refused, if it is; checked before anything joins: one that is not a function would fail
 * every delivery with a TypeError, a nack, and send each record on to the dead-letter topic.
 */
export function handlerRefusal(handler: unknown): BrookError | undefined {
  if (typeof handler === 'function') return undefined;
  return new BrookError('INVALID_CONFIG', `the handler must be a function, got ${handler === null ? 'null' : typeof handler}`, { option: 'handler' });
}

/** The known name within a few typos of `key` (case aside), if one is clearly meant. */
function closestName(key: string, names: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.name : undefined;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
