/** How a partition log's failures read: IO_ERROR, naming the log, until a reopen recovers it. */
import { BrookError } from '@brook/protocol';

export function asIoError(error: unknown): BrookError {
  return error instanceof BrookError ? error : new BrookError('IO_ERROR', String(error), {}, { cause: error });
}

/** The error a failed log answers with until it is reopened. */
export function logFailure(dir: string, error: unknown): BrookError {
  const ioError = asIoError(error);
  return new BrookError('IO_ERROR', `log ${dir} failed and must be reopened: ${ioError.message}`, { dir, ...ioError.details }, { cause: error });
}

/** True if `error` is the failure of a file system call `op` ('write': a write; 'syncDir': a directory's fsync). */
export function isFailureOf(error: unknown, op: 'write' | 'syncDir'): boolean {
  return error instanceof BrookError && error.details['op'] === op;
}

/**
 * True if `error` is a file system call refused for want of space (ENOSPC, or EDQUOT: a quota),
 * which writes nothing and may pass once space is freed; not a device failing (EIO).
 */
export function isOutOfSpace(error: unknown): boolean {
  return error instanceof BrookError && (error.details['errno'] === 'ENOSPC' || error.details['errno'] === 'EDQUOT');
}
