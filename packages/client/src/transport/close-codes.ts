/**
 * What a WebSocket close code means to the client (docs/protocol.md, "Close codes"), as the
 * BrookError every request still waiting gets. `retriable` decides whether the client reconnects:
 * a server going away or a dropped socket may come back; a refused token will not.
 */
import { BrookError, CloseCode, type ErrorCode } from '@brook/protocol';

const CLOSE_ERRORS: Readonly<Record<number, ErrorCode>> = Object.freeze({
  [CloseCode.NORMAL]: 'CLOSED',
  [CloseCode.GOING_AWAY]: 'DISCONNECTED',
  [CloseCode.PROTOCOL_ERROR]: 'INVALID_REQUEST',
  [CloseCode.UNSUPPORTED_DATA]: 'INVALID_REQUEST',
  [CloseCode.MESSAGE_TOO_BIG]: 'MESSAGE_TOO_LARGE',
  [CloseCode.TRY_AGAIN_LATER]: 'DISCONNECTED',
  [CloseCode.UNSUPPORTED_VERSION]: 'INVALID_REQUEST',
  [CloseCode.UNAUTHORIZED]: 'UNAUTHORIZED',
  [CloseCode.HANDSHAKE_TIMEOUT]: 'TIMEOUT',
  [CloseCode.IDLE_TIMEOUT]: 'TIMEOUT',
});

/** The error for a connection the server (or the network) ended with `code`; 1006 and unknown codes are drops. */
export function closeError(code: number, reason: string): BrookError {
  const errorCode = CLOSE_ERRORS[code] ?? 'DISCONNECTED';
  return new BrookError(errorCode, `connection closed with ${code}${reason ? ` (${reason})` : ''}`, { closeCode: code, reason });
}
