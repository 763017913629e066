/** ERROR frames (docs/protocol.md, "Errors") as the client's BrookErrors. */
import { BrookError, ErrorCodes, type ErrorCode, type WireError } from '@brook/protocol';

/** An ERROR frame's payload as a BrookError; a code this client does not know keeps its name in details. */
export function wireError(wire: WireError): BrookError {
  const known = Object.hasOwn(ErrorCodes, wire.code);
  const code = (known ? wire.code : 'INVALID_REQUEST') as ErrorCode;
  const details = known ? { ...wire.details } : { ...wire.details, serverCode: wire.code };
  return new BrookError(code, wire.message ?? '', details);
}
