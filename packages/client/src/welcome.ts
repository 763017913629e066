/**
 * The handshake's two messages (docs/protocol.md, "Handshake"): the HELLO the client sends, and
 * what it takes from the answer, a WELCOME (the session's limits, the broker's incarnation, the
 * features granted) or the server's ERROR. Checked, not trusted: every limit sizes the client's
 * own frames and batches, so one that is missing, of another JSON type or not a positive integer
 * (a broken server's `{"toString": 0}`, say) would fail every later send with a TypeError, or let
 * the client build frames the server must refuse. Such a WELCOME fails the handshake with
 * INVALID_REQUEST.
 */
import {
  BrookError, Feature, FrameKind, PROTOCOL_VERSION, decodeFrame, encodeFrame, isIncarnation, showValue, stableJson, type Frame, type SessionLimits, type Welcome, type WireError,
} from '@brook/protocol';
import { wireError } from './wire-error.js';

/** HELLO: the client's name and token, and the features it takes (TAKEN_BACK frames, nack reasons: a server from before them ignores the field and grants neither). */
export function helloFrame(name: string, token: string | undefined): Uint8Array {
  const hello = { version: PROTOCOL_VERSION, client: name, features: [Feature.TAKEN_BACK, Feature.NACK_REASON], ...(token === undefined ? {} : { token }) };
  return encodeFrame(FrameKind.HELLO, 0, stableJson(hello));
}

/** A frame before the session began: the answer to HELLO, or, if it does not parse, the handshake's failure. */
export function handshakeFrame(bytes: Uint8Array, welcomed: (frame: Frame) => void, failed: (error: BrookError) => void): void {
  try {
    welcomed(decodeFrame(bytes));
  } catch (error) {
    failed(error as BrookError);
  }
}

/** The server's answer to HELLO: its WELCOME read, or its ERROR (or any other frame) thrown. */
export function answerToHello(frame: Frame): ReturnType<typeof readWelcome> {
  if (frame.kind === FrameKind.ERROR) throw wireError(frame.json as unknown as WireError);
  if (frame.kind !== FrameKind.WELCOME) throw new BrookError('INVALID_REQUEST', `expected WELCOME, got frame kind ${frame.kind}`);
  return readWelcome(frame.json);
}

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
