/**
 * JSON on the wire: stable key order (fast-json-stable-stringify), and bigints (offsets, producer
 * ids) as decimal strings, since a JSON number loses precision past 2^53. Byte arrays in error
 * details become their length: details are for logs, not for carrying data.
 */
import stringify from 'fast-json-stable-stringify';
import { BrookError, ErrorCodes, type WireError } from '@brook/protocol';

function toWire(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return { bytes: value.length };
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = toWire(field);
    return out;
  }
  return value;
}

export function wireJson(value: unknown): string {
  return stringify(toWire(value));
}

/**
 * The ERROR payload for a failure. A BrookError carries its own code; anything else escaping the
 * broker is a bug in Brook (file system failures arrive as BrookError IO_ERROR), reported by the
 * caller and answered as IO_ERROR with details.internal, because the code table has no better fit
 * and the client can at least retry or give up with a typed error.
 */
export function wireError(error: unknown): WireError {
  if (error instanceof BrookError) {
    return { code: error.code, message: error.description, retriable: error.retriable, details: toWire(error.details) as Record<string, unknown> };
  }
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'IO_ERROR', message: `internal error: ${message}`, retriable: ErrorCodes.IO_ERROR.retriable, details: { internal: true, name } };
}
