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
  if (/^\d+$/.test(text)) return { offset: BigInt(text) };
  // Only full dates count as times: Date.parse alone would read '12' or 'May 1' as one.
  const timestamp = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(timestamp) || timestamp < 0) throw args.usageError(`--${name} must be ${POSITION_USAGE}, got ${text}`);
  return { timestamp };
}

/** `--name` as milliseconds: a number of milliseconds or a number with ms, s, m, h or d. */
export function durationOption(args: ParsedArgs, name: string): number | undefined {
  const text = args.string(name);
  if (text === undefined) return undefined;
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  const ms = match ? Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 'ms']! : 0;
  if (!(ms >= 1 && Number.isSafeInteger(ms))) throw args.usageError(`--${name} must be milliseconds or a duration like 30s, 15m, 12h, 7d, got ${text}`);
  return ms;
}
