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

export function isWriteFailure(error: unknown): boolean {
  return error instanceof BrookError && error.details['op'] === 'write';
}

