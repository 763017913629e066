import { BrookError, ErrorCodes, stableJson, type WireError } from '@brook/protocol';

/**
 * The ERROR payload for a failure. A BrookError carries its own code; anything else escaping the
 * broker is a bug in Brook (file system failures arrive as BrookError IO_ERROR), reported by the
 * caller and answered as IO_ERROR with details.internal, because the code table has no better fit
 * and the client can at least retry or give up with a typed error.
 */
export function wireError(error: unknown): WireError {
  if (error instanceof BrookError) {
    // The details as they are: stableJson writes their bigints and byte arrays in wire form.
    const details = writableDetails(error.details);
    const bigintDetails = Object.keys(details).filter((key) => typeof details[key] === 'bigint');
    const wire: WireError = { code: error.code, message: error.description, retriable: error.retriable, details };
    return bigintDetails.length === 0 ? wire : { ...wire, bigintDetails };
  }
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'IO_ERROR', message: `internal error: ${message}`, retriable: ErrorCodes.IO_ERROR.retriable, details: { internal: true, name } };
}

/**
 * The details stableJson can write where an ERROR carries them. A detail may echo what the client
 * sent (a setting's `value`), nested past JSON_DEPTH_MAX, and stableJson refuses that: such a
 * detail is left out (the message still shows the value's start), so the request is answered all
 * the same rather than never.
 */
function writableDetails(details: Record<string, unknown>): Record<string, unknown> {
  if (writable(details)) return details;
  return Object.fromEntries(Object.entries(details).filter(([key, value]) => writable({ [key]: value })));
}

/** Whether `details` can be written as an ERROR's (one level down in its JSON). */
function writable(details: Record<string, unknown>): boolean {
  try {
    stableJson({ details });
    return true;
  } catch {
    return false;
  }
}
