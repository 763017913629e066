/**
 * Deleting the files of segments retention took out of a log. A file that cannot be deleted now
 * (an I/O error) must not stay for good: its records are out of the log already, and the next
 * open would find the segment and bring them back. So such a segment is kept for the next try.
 */
import type { BrookError, FileSystem } from '@brook/protocol';
import { asIoError } from './log-failure.js';
import type { Segment } from './segment.js';

/**
 * Deletes each segment's files, then fsyncs the directory; the segments whose files stayed are
 * pushed onto `undeleted`. Returns the first failure, never rejects.
 */
export async function deleteSegments(fs: FileSystem, dir: string, segments: readonly Segment[], undeleted: Segment[]): Promise<BrookError | undefined> {
  let failure: BrookError | undefined;
  for (const segment of segments) {
    await segment.delete().catch((error: unknown) => {
      failure ??= asIoError(error);
      undeleted.push(segment);
    });
  }
  if (segments.some((segment) => !undeleted.includes(segment))) {
    await fs.syncDir(dir).catch((error: unknown) => void (failure ??= asIoError(error)));
  }
  return failure;
}
