/**
 * TAKEN_BACK (docs/protocol.md, "Taken back"): the server tells a client which deliveries it sent
 * were taken back by the broker before the client settled them (a lease ran out, a rebalance or a
 * 'partition' go-back, a reset, retention), so the client stops handing them to its consumer and
 * its Message.stale says so, as Delivery.stale does in process.
 *
 *   TAKEN_BACK (server → client)   requestId: subscription
 *     json { ids: [[firstId, lastId], ...] }    inclusive ranges of delivery ids, ascending
 *
 * A new frame kind, which a client from before it would refuse as `unknown-kind` and close the
 * connection over: so the server sends it only on a session whose HELLO named the feature
 * (`features: ["takenBack"]`), and a server from before it, which ignores the field, sends none.
 */
import { BrookError } from '../errors.js';
import { FrameKind, encodeFrame } from './frame.js';
import type { IdRanges } from './messages.js';
import { stableJson } from './stable-json.js';

/** What a client asks for in HELLO's `features`, and a server grants in WELCOME's. */
export const Feature = {
  /** The server sends TAKEN_BACK frames. */
  TAKEN_BACK: 'takenBack',
  /**
   * The server takes a nack's reason, a third item of a settle's nack entry (docs/protocol.md,
   * "Settle"): a server from before it refuses that entry, and every settlement beside it.
   */
  NACK_REASON: 'nackReason',
} as const;

export type FeatureName = (typeof Feature)[keyof typeof Feature];

const KNOWN_FEATURES: ReadonlySet<string> = new Set(Object.values(Feature));

/**
 * The features of HELLO's `features` this side knows (a later client may name more: ignored).
 * Undefined (a client from before features) is none; anything but a list of strings is refused.
 */
export function knownFeatures(features: unknown): FeatureName[] {
  if (features === undefined) return [];
  if (!Array.isArray(features) || !features.every((feature) => typeof feature === 'string')) {
    throw new BrookError('INVALID_REQUEST', 'HELLO features must be a list of strings', { field: 'features', reason: 'bad-hello' });
  }
  return [...new Set(features.filter((feature) => KNOWN_FEATURES.has(feature)))] as FeatureName[];
}

/** Whether `value` is a list of inclusive [first, last] delivery id ranges (safe integers, 0 <= first <= last). */
export function isIdRanges(value: unknown): value is IdRanges {
  const isRange = (range: unknown): boolean => Array.isArray(range) && range.length === 2
    && Number.isSafeInteger(range[0]) && Number.isSafeInteger(range[1]) && range[0] >= 0 && range[0] <= range[1];
  return Array.isArray(value) && value.every(isRange);
}

export function encodeTakenBackFrame(subscription: number, ids: IdRanges): Uint8Array {
  return encodeFrame(FrameKind.TAKEN_BACK, subscription, stableJson({ ids }));
}

/** The ids of a TAKEN_BACK frame's json; a malformed one is a broken server: INVALID_REQUEST. */
export function readTakenBack(json: Record<string, unknown>): IdRanges {
  if (!isIdRanges(json.ids)) throw new BrookError('INVALID_REQUEST', 'TAKEN_BACK frame: ids must be a list of [firstId, lastId] ranges', { field: 'ids' });
  return json.ids;
}
