/**
 * `forgetWalProducerId(dir)`: the supported way for a WAL producer's directory to give up its
 * producer id, instead of removing `producer.json` by hand (docs/wal.md, "No epoch bump on
 * restart"). Needed when the broker fenced the id (PRODUCER_FENCED at every open: a copy of the
 * directory took it over) or the file is damaged (CORRUPT_METADATA at open). The next open takes
 * a new producer id and sends what the WAL holds from sequence 0 under it: the broker cannot
 * recognise a batch under the new id as one it had under the old, so a batch acknowledged but
 * not yet committed is appended again (at-least-once, for that batch only).
 *
 * It takes the WAL's lock as an open does, so it refuses (LOCKED) while a producer has the
 * directory open: a running sender would write its state again under the old id.
 */
import {
  BrookError, DirLock, NodeFileSystem, isBrookError, type FileSystem, type LockOwnerIdentity,
} from '@brook/protocol';
import { WAL_LOCK_NAME } from '../wal/limits.js';
import { parseSegmentName } from '../wal/segment-names.js';
import { STATE_FILE, loadState } from './wal-state.js';

export interface ForgetWalProducerIdOptions {
  /** Default: the node file system. */
  fs?: FileSystem;
  /** Default: this process. Tests simulate processes. */
  owner?: LockOwnerIdentity;
}

/** What `producer.json` held when it was forgotten. */
export type ForgottenProducerId =
  /** There was no producer.json: the next open takes a new id anyway. */
  | { readonly found: 'none'; readonly removed: readonly string[] }
  /** A readable state; `producerId` undefined if the broker had not issued one yet. */
  | {
    readonly found: 'state'; readonly removed: readonly string[];
    readonly producerId: bigint | undefined; readonly producerEpoch: number | undefined;
    readonly incarnation: string | undefined; readonly committedWalBatch: number;
  }
  /** A file the open refuses (`problem`: its CORRUPT_METADATA); removed all the same. */
  | { readonly found: 'corrupt'; readonly removed: readonly string[]; readonly problem: BrookError };

/**
 * Removes `<dir>/producer.json` (and the `.tmp` an interrupted atomic write left) durably:
 * unlink, then a directory fsync. Refuses with INVALID_REQUEST a path that is not a WAL
 * directory, and with LOCKED while a WAL producer has it open.
 */
export async function forgetWalProducerId(dir: string, options: ForgetWalProducerIdOptions = {}): Promise<ForgottenProducerId> {
  const fs = options.fs ?? new NodeFileSystem();
  await checkWalDirectory(fs, dir);
  const lock = await DirLock.acquire(fs, dir, { name: WAL_LOCK_NAME, what: 'a WAL directory', ...(options.owner ? { owner: options.owner } : {}) });
  try {
    // Listed again under the lock: an open that ended meanwhile may have written its state.
    const names = await fs.readdir(dir);
    const found = await readState(fs, dir);
    // A producer.json nothing of ours can read, beside no WAL segment: someone else's file.
    if (found.found === 'corrupt' && !names.some(isSegment)) throw notWalDirectory(dir, found.problem);
    const removed = [STATE_FILE, `${STATE_FILE}.tmp`].filter((name) => names.includes(name));
    for (const name of removed) await fs.unlink(`${dir}/${name}`);
    if (removed.length > 0) await fs.syncDir(dir);
    return { ...found, removed };
  } finally {
    await lock.release();
  }
}

type Found = Omit<Extract<ForgottenProducerId, { found: 'state' }>, 'removed'>
  | { readonly found: 'none' }
  | { readonly found: 'corrupt'; readonly problem: BrookError };

async function readState(fs: FileSystem, dir: string): Promise<Found> {
  if (!(await fs.exists(`${dir}/${STATE_FILE}`))) return { found: 'none' };
  try {
    const state = await loadState(fs, dir);
    return {
      found: 'state', producerId: state.shared?.producerId, producerEpoch: state.shared?.producerEpoch,
      incarnation: state.incarnation, committedWalBatch: state.committedWalBatch,
    };
  } catch (error) {
    // Damage is what this is for (the documented way out of CORRUPT_METADATA); an I/O failure is not.
    if (isBrookError(error, 'CORRUPT_METADATA')) return { found: 'corrupt', problem: error };
    throw error;
  }
}

/**
 * Refuses a path that is not a WAL directory, checked before the lock is taken, so a wrong path is refused without a
 * lock directory being made in it: a WAL directory holds a segment or the producer's state
 * (a FileBuffer makes its first segment at its first open), or a lock of one.
 */
async function checkWalDirectory(fs: FileSystem, dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    const errno = isBrookError(error, 'IO_ERROR') ? error.details['errno'] : undefined;
    if (errno === 'ENOENT' || errno === 'ENOTDIR') throw notWalDirectory(dir, error);
    throw error;
  }
  if (!names.some((name) => isSegment(name) || name === STATE_FILE || name === WAL_LOCK_NAME)) throw notWalDirectory(dir);
}

function isSegment(name: string): boolean {
  return parseSegmentName(name) !== undefined;
}

function notWalDirectory(dir: string, cause?: unknown): BrookError {
  return new BrookError('INVALID_REQUEST', `${dir} is not a WAL directory (no wal-*.seg segment, no readable ${STATE_FILE})`, { dir }, cause === undefined ? undefined : { cause });
}
