/** ERROR frames (docs/protocol.md, "Errors") as the client's BrookErrors. */
import { BrookError, ErrorCodes, type ErrorCode, type WireError } from '@brook/protocol';

const DECIMAL = /^-?\d+$/;

/**
 * An ERROR frame's payload as a BrookError, details as the broker's in process: the ones that
 * were bigints (`bigintDetails`), decimal strings in JSON, are bigints again. A code this client does not
 * know keeps its name in details.
 */
export function wireError(wire: WireError): BrookError {
  const known = Object.hasOwn(ErrorCodes, wire.code);
  const code = (known ? wire.code : 'INVALID_REQUEST') as ErrorCode;
  const details: Record<string, unknown> = { ...wire.details };
  for (const key of wire.bigintDetails ?? []) {
    const value = details[key];
    if (typeof value === 'string' && DECIMAL.test(value)) details[key] = BigInt(value);
  }
  if (!known) details['serverCode'] = wire.code;
  return new BrookError(code, wire.message ?? '', details);
}
