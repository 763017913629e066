/**
 * The shape every tunable takes in Brook's frozen limit tables (the broker's LIMITS, the WAL's
 * WAL_LIMITS), and the checks that resolve an option against its entry. One copy, so a bad
 * option reads the same everywhere: INVALID_CONFIG naming the option, its range and the value.
 */
import { BrookError } from './errors.js';
import { checkOptionKeys, type OptionKeys } from './option-keys.js';
import { showValue } from './show-value.js';

export interface Limit {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly doc: string;
}

/**
 * Longest topic (and group) name: names become directory names, held to Kafka's rule. In the
 * protocol package because the client sizes its produce frames by it.
 */
export const TOPIC_NAME_LENGTH_MAX = 249;

/**
 * A subscription's maxInFlight when it names none. In the protocol package because the client
 * holds a handler subscription's running handlers to the same window.
 */
export const MAX_IN_FLIGHT_DEFAULT = 100;

/**
 * A broker data directory's incarnation (docs/storage.md): at most INCARNATION_LENGTH_MAX
 * characters that JSON carries as they are, one byte each, so that a produce frame naming it has
 * a known size beside its batch (the client sizes its batches by it). Brook's are
 * `<clock ms>-<draw>`, under 30 characters.
 */
export const INCARNATION_LENGTH_MAX = 64;
const INCARNATION = new RegExp(`^[0-9A-Za-z._-]{1,${INCARNATION_LENGTH_MAX}}$`);

export function isIncarnation(value: unknown): value is string {
  return typeof value === 'string' && INCARNATION.test(value);
}

/** How appends reach the disk: fsync before acknowledging, never, or on a timer. */
export type FsyncPolicy = 'always' | 'never' | { intervalMs: number };

/** `value` if it is an integer within `limit`; throws INVALID_CONFIG naming `option` otherwise. */
export function checkLimitValue(option: string, limit: Limit, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < limit.min || value > limit.max) {
    throw new BrookError('INVALID_CONFIG', `${option} must be an integer in [${limit.min}, ${limit.max}], got ${showValue(value)}`, {
      option, value, min: limit.min, max: limit.max,
    });
  }
  return value;
}

const FSYNC_INTERVAL_KEYS: OptionKeys<{ intervalMs: number }> = { intervalMs: true };

/**
 * An fsync option: 'always', 'never' or { intervalMs } within `interval`; `fallback` when
 * undefined. Anything else is INVALID_CONFIG naming `option` (or `option.intervalMs`) as the
 * caller wrote it: 'fsync' for the broker and a FileBuffer, 'wal.fsync' under a WAL producer.
 */
export function parseFsyncPolicy(value: unknown, fallback: FsyncPolicy, interval: Limit, option = 'fsync'): FsyncPolicy {
  if (value === undefined) return fallback;
  if (value === 'always' || value === 'never') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    // A key beside intervalMs (or instead of it, misspelt) would otherwise run silently without it.
    checkOptionKeys(value as { intervalMs?: number }, FSYNC_INTERVAL_KEYS, option);
    if ('intervalMs' in value) return { intervalMs: checkLimitValue(`${option}.intervalMs`, interval, value.intervalMs) };
  }
  throw new BrookError('INVALID_CONFIG', `${option} must be 'always', 'never' or { intervalMs: positive integer }, got ${showValue(value)}`, {
    option, value,
  });
}
