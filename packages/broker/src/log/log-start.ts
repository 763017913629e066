/**
 * The log-start checkpoint of a partition, `<partitionDir>/log-start.json`, written tmp -> fsync
 * -> rename -> directory fsync (writeFileAtomic), whatever the fsync policy. JSON, the offset as a
 * decimal string (JSON has no 64-bit integers):
 *
 *   { "version": 1, "startOffset": "4711" }
 *
 * Promise: no record below `startOffset` is in the log, whatever segment files a crash left. Retention
 * writes it before it takes segments out of the log and unlinks their files (Kafka's
 * log-start-offset checkpoint), so an unlink that failed, or one a power cut took back before the
 * directory's fsync, cannot bring dropped records back: open deletes every segment wholly below it
 * (finishing the deletion) and starts the log at max(first segment's base offset, startOffset).
 *
 * No file (a partition retention never trimmed, a directory from before the checkpoint): the log
 * starts at its first segment, as before. A file that fails validation stops the open with
 * CORRUPT_METADATA naming it, as a bad topic.json does: it is not a cache that can be rebuilt, and
 * ignoring it would bring back the records it says are gone.
 */
import { BrookError, writeFileAtomic, type FileSystem } from '@brook/protocol';
import { parseDecimal } from '../producers/decimal.js';
import { LOG_START_FILE } from './segment-files.js';

const LOG_START_VERSION = 1;

export function logStartPath(dir: string): string {
  return `${dir}/${LOG_START_FILE}`;
}

/** Makes `startOffset` the partition's durable log start; resolves once it is (see above). */
export function writeLogStart(fs: FileSystem, dir: string, startOffset: bigint): Promise<void> {
  const file = { version: LOG_START_VERSION, startOffset: startOffset.toString() };
  return writeFileAtomic(fs, logStartPath(dir), new TextEncoder().encode(JSON.stringify(file)));
}

/** The checkpointed log start of `dir`; 0 if there is none; CORRUPT_METADATA if it fails validation. */
export async function readLogStart(fs: FileSystem, dir: string): Promise<bigint> {
  const path = logStartPath(dir);
  if (!(await fs.exists(path))) return 0n;
  const bytes = await fs.readFile(path);
  try {
    const { version, startOffset } = JSON.parse(new TextDecoder().decode(bytes)) as { version?: unknown; startOffset?: unknown };
    if (version !== LOG_START_VERSION) throw new Error(`unknown version ${String(version)}`);
    return parseDecimal(startOffset, 'startOffset');
  } catch (error) {
    throw new BrookError('CORRUPT_METADATA', `${path} is not a valid log-start checkpoint: ${String(error)}`, { file: path }, { cause: error });
  }
}

/** The log's end lies below its checkpointed start: segments were lost that retention never deleted. */
export function logStartPastEndError(dir: string, startOffset: bigint, endOffset: bigint): BrookError {
  const file = logStartPath(dir);
  return new BrookError('CORRUPT_METADATA', `${file} starts the log at ${startOffset}, past its end ${endOffset}`, { file, startOffset, endOffset });
}
