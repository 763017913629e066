import { BrookError } from '../errors.js';

/**
 * The two error shapes every `FileSystem` implementation shares, so that the node and the
 * in-memory file systems fail in exactly the same way and tests can assert on `details`.
 */

/**
 * The errnos that are a state of the machine an operator can change rather than a fault, said in
 * words in the message (`brook serve` prints it): a bare EMFILE does not say "raise ulimit -n".
 */
const ERRNO_MEANINGS: Readonly<Record<string, string>> = Object.freeze({
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: "too many open files: the process's limit, ulimit -n",
  ENFILE: 'too many open files in the system',
  EROFS: 'read-only file system',
});

/** An operating-system style failure: `errno` is the symbolic code ('ENOENT', 'ENOSPC', ...). */
export function ioError(op: string, path: string, errno: string, cause?: unknown): BrookError {
  const meaning = Object.hasOwn(ERRNO_MEANINGS, errno) ? ` (${ERRNO_MEANINGS[errno]})` : '';
  return new BrookError('IO_ERROR', `${op} ${path} failed: ${errno}${meaning}`, { op, path, errno }, { cause });
}

/** A call on a handle that was closed, or that died in a simulated power cut. */
export function closedHandleError(op: string, path: string): BrookError {
  return new BrookError('CLOSED', `${op} on a closed file handle for ${path}`, { op, path });
}
