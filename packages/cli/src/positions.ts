/**
 * Option values shared by several commands: where a group starts or is reset to, and durations.
 */
import type { StartPosition } from '@brook/client';
import type { ParsedArgs } from './cli-args.js';

export const POSITION_USAGE = 'earliest, latest, an offset (every partition), or an ISO time (2024-05-01T12:00:00Z)';

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--name` as a start position: undefined if absent, a usage error if it is none of the forms. */
export function startPositionOption(args: ParsedArgs, name: string): StartPosition | undefined {
  const text = args.string(name);
  if (text === undefined) return undefined;
  if (text === 'earliest' || text === 'latest') return text;
  if (/^\d+$/.test(text) && BigInt(text) <= OFFSET_MAX) return { offset: BigInt(text) };
  const timestamp = isoTime(text);
  if (timestamp === undefined || timestamp < 0) throw args.usageError(`--${name} must be ${POSITION_USAGE}, got ${text}`);
  return { timestamp };
}

/** Offsets are signed 64-bit on disk and on the wire. */
const OFFSET_MAX = (1n << 63n) - 1n;

/**
 * Only ISO dates and times count, checked field by field: Date.parse alone reads '12' or 'May 1'
 * as a time, and rolls '2024-02-30' over to March 1 or takes '2024-05-01junk' for some day in June.
 * A time without a zone is UTC, as a date alone is and as every time Brook prints is: Date.parse
 * would read it in the machine's time zone, so the same command would start elsewhere on another
 * machine.
 */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function isoTime(text: string): number | undefined {
  const match = ISO_TIME.exec(text);
  if (!match) return undefined;
  const [year, month, day, hours, minutes = '0', seconds = '0', zone] = match.slice(1);
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  const fieldsExist = date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day) &&
    Number(hours ?? 0) < 24 && Number(minutes) < 60 && Number(seconds) < 60;
  const timestamp = Date.parse(hours !== undefined && zone === undefined ? `${text}Z` : text);
  return fieldsExist && !Number.isNaN(timestamp) ? timestamp : undefined;
}

/** `--name` as milliseconds: a number of milliseconds or a number with ms, s, m, h or d. */
export function durationOption(args: ParsedArgs, name: string): number | undefined {
  const text = args.string(name);
  if (text === undefined) return undefined;
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  if (!match) throw args.usageError(`--${name} ${text} must be milliseconds or a duration like 30s, 15m, 12h, 7d`);
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 'ms']!;
  if (ms < 1) throw args.usageError(`--${name} ${text} must be at least 1 ms`);
  if (!Number.isSafeInteger(ms)) throw args.usageError(`--${name} ${text} is ${ms} ms, more than the largest duration, ${Number.MAX_SAFE_INTEGER} ms`);
  return ms;
}
