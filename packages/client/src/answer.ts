/**
 * Reading a server's answer into what a call returns. The client trusts a Brook server's answers
 * to have the shapes docs/protocol.md gives, and reads them without checking each field; a broken
 * server's answer (a field missing, or of another JSON type) then throws a TypeError, or a
 * SyntaxError from BigInt, in the middle of that reading. `readAnswer` turns such a failure into
 * the coded error every failure of the client is: INVALID_REQUEST naming the op (not retriable:
 * the same server answers the same way), with the original error as its cause.
 */
import { BrookError, isBrookError, showValue } from '@brook/protocol';

/** `read()`, or INVALID_REQUEST naming `op` if it throws anything but a BrookError (module comment). */
export function readAnswer<T>(op: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (isBrookError(error)) throw error;
    const reason = error instanceof Error ? error.message : showValue(error);
    throw new BrookError('INVALID_REQUEST', `the server's answer to ${op} cannot be read: ${reason}`, { op }, { cause: error });
  }
}
