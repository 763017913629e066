import { BrookError } from '../errors.js';

/**
 * The two error shapes every `FileSystem` implementation shares, so that the node and the
 * in-memory file systems fail in exactly the same way and tests can assert on `details`.
 */

/** An operating-system style failure: `errno` is the symbolic code ('ENOENT', 'ENOSPC', ...). */
export function ioError(op: string, path: string, errno: string, cause?: unknown): BrookError {
  return new BrookError('IO_ERROR', `${op} ${path} failed: ${errno}`, { op, path, errno }, { cause });
}

/** A call on a handle that was closed, or that died in a simulated power cut. */
export function closedHandleError(op: string, path: string): BrookError {
  return new BrookError('CLOSED', `${op} on a closed file handle for ${path}`, { op, path });
}
