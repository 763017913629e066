/**
 * What the client takes from a WELCOME (docs/protocol.md, "Handshake"): the session's limits and
 * the broker's incarnation. Checked, not trusted: every limit sizes the client's own frames and
 * batches, so one that is missing, of another JSON type or not a positive integer (a broken
 * server's `{"toString": 0}`, say) would fail every later send with a TypeError, or let the client
 * build frames the server must refuse. Such a WELCOME fails the handshake with INVALID_REQUEST.
 */
import { BrookError, isIncarnation, showValue, type SessionLimits, type Welcome } from '@brook/protocol';

/**
 * Every limit of SessionLimits, as a table the compiler holds complete: a limit added there must be
 * checked here. true: a positive limit every WELCOME carries; false: an optional one, read on its own.
 */
const SESSION_LIMITS: { readonly [name in keyof SessionLimits]-?: name extends 'timestampAheadMsMax' ? false : true } = {
  frameBytesMax: true, batchRecordsMax: true, batchBytesMax: true, subscriptionsMax: true, requestsInFlightMax: true, timestampAheadMsMax: false,
};
/** The positive limits every WELCOME carries. */
const LIMIT_NAMES = (Object.keys(SESSION_LIMITS) as (keyof SessionLimits)[]).filter((name) => SESSION_LIMITS[name]);

/** `features`: those the server named (a broker from before features names none). */
export function readWelcome(json: Record<string, unknown>): Pick<Welcome, 'limits' | 'incarnation'> & { features: readonly string[] } {
  const limits = json['limits'];
  if (typeof limits !== 'object' || limits === null) throw badWelcome('limits', limits);
  const read = {} as SessionLimits;
  for (const name of LIMIT_NAMES) {
    const value = (limits as Record<string, unknown>)[name];
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw badWelcome(`limits.${name}`, value);
    read[name] = value as number;
  }
  // Optional (a broker from before it), and 0 is a limit: not one of the positive ones above.
  const aheadMs = (limits as Record<string, unknown>)['timestampAheadMsMax'];
  if (aheadMs !== undefined) {
    if (!Number.isSafeInteger(aheadMs) || (aheadMs as number) < 0) throw badWelcome('limits.timestampAheadMsMax', aheadMs);
    read.timestampAheadMsMax = aheadMs as number;
  }
  const incarnation = json['incarnation'];
  if (incarnation !== undefined && !isIncarnation(incarnation)) throw badWelcome('incarnation', incarnation);
  const features = json['features'] ?? [];
  if (!Array.isArray(features) || !features.every((feature) => typeof feature === 'string')) throw badWelcome('features', features);
  return { limits: read, incarnation, features };
}

function badWelcome(field: string, value: unknown): BrookError {
  return new BrookError('INVALID_REQUEST', `WELCOME: ${field} cannot be used, got ${showValue(value)}`, { field });
}
