/** ERROR frames (docs/protocol.md, "Errors") as the client's BrookErrors. */
import { BrookError, ErrorCodes, showValue, type ErrorCode, type WireError } from '@brook/protocol';

const DECIMAL = /^-?\d+$/;

/**
 * An ERROR frame's payload as a BrookError, details as the broker's in process: the ones that
 * were bigints (`bigintDetails`), decimal strings in JSON, are bigints again. A code this client does not
 * know keeps its name in details (`serverCode`).
 *
 * The payload is a server's JSON, read without trusting its types: a broken server's code, message,
 * details or bigintDetails of another type (an object whose toString is no function, say) still
 * make an error, INVALID_REQUEST for a code that is no known string. Read trustingly, such a
 * payload threw a TypeError while the error was being built, out of the socket's event handler.
 */
export function wireError(wire: WireError): BrookError {
  const payload = wire as Partial<Record<keyof WireError, unknown>>;
  const known = typeof payload.code === 'string' && Object.hasOwn(ErrorCodes, payload.code);
  const code = (known ? payload.code : 'INVALID_REQUEST') as ErrorCode;
  const details: Record<string, unknown> = isPlainObject(payload.details) ? { ...payload.details } : {};
  if (Array.isArray(payload.bigintDetails)) {
    for (const key of payload.bigintDetails) {
      const value = typeof key === 'string' && Object.hasOwn(details, key) ? details[key] : undefined;
      if (typeof value === 'string' && DECIMAL.test(value)) details[key as string] = BigInt(value);
    }
  }
  if (!known) details['serverCode'] = typeof payload.code === 'string' ? payload.code : showValue(payload.code);
  const message = payload.message === undefined ? '' : typeof payload.message === 'string' ? payload.message : showValue(payload.message);
  return new BrookError(code, message, details);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
