/**
 * The single-writer lock of a directory (a broker's data directory, a producer's WAL): a
 * directory `<name>` inside it holding a file `owner` with the holder's pid and host name. Two
 * writers on one directory would interleave appends and corrupt it, so the second opener gets
 * LOCKED naming the holder.
 *
 * Acquiring is atomic through the FileSystem port alone: the lock is built under a private
 * name, then renamed onto `wal.lock`; rename(2) refuses to replace a non-empty directory, so
 * exactly one of two racing openers wins.
 *
 * A stale lock (the holder died without closing: kill -9, power cut) is taken over when its
 * owner is on this host and its pid no longer runs (`kill(pid, 0)` fails with ESRCH), or when the
 * owner file is unreadable (a power cut can keep the directory entry but lose the unsynced file).
 * The stale lock is first renamed away under a private name and its owner read again, so a
 * takeover never deletes a lock someone else just acquired (it goes back); the takeover then
 * races like a first acquisition. Limits: a pid
 * reused by an unrelated process after a reboot reads as alive (LOCKED with the pid: delete
 * the lock directory by hand once sure), and a lock held from another host is always respected.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { BrookError, isBrookError } from '../errors.js';
import type { FileSystem } from './file-system.js';

/** Who holds a lock: a pid and host, and how to tell whether another pid is still running. */
export interface LockOwnerIdentity {
  readonly pid: number;
  readonly hostname: string;
  readonly isAlive: (pid: number) => boolean;
  /**
   * Tells this process from an earlier one that had the same pid (a container restarted after a
   * crash usually gets the same pid again): lowercase letters and digits. thisProcess() gives
   * this process's (processLife), the same in every thread of it; without one, the pid alone
   * decides.
   */
  readonly life?: string;
}

export interface DirLockOptions {
  /** The lock directory's name inside the locked directory, e.g. `wal.lock`. */
  readonly name: string;
  /** Default: this process. Tests simulate processes. */
  readonly owner?: LockOwnerIdentity;
  /** What the directory is, for the LOCKED message: 'a WAL directory'. */
  readonly what: string;
}

interface OwnerRecord {
  readonly pid: number;
  readonly hostname: string;
  /** Absent in owner files written before lives were recorded. */
  readonly life?: string;
}

let nonceCounter = 0;

/**
 * What tells this process from an earlier one with the same pid, the same in every thread and
 * module copy of it (worker threads share the pid and must see each other's locks as held): on
 * Linux a hash of the boot id and the process's start time. Undefined elsewhere: a lock with
 * this pid then counts as held, as the pid alone cannot tell.
 */
function processLife(): string | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]; // field 22, starttime
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    if (!startTicks || !bootId) return undefined;
    return createHash('sha256').update(`${bootId}/${startTicks}`).digest('hex').slice(0, 16);
  } catch {
    return undefined;
  }
}

/** Read once, at the first lock this process takes (not at import). */
let thisLife: { readonly life: string | undefined } | undefined;

/** This process: process.pid, os.hostname(), its life (processLife), and `kill(pid, 0)` to test other pids. */
export function thisProcess(): LockOwnerIdentity {
  thisLife ??= { life: processLife() };
  return { pid: process.pid, hostname: hostname(), isAlive: isPidAlive, ...(thisLife.life === undefined ? {} : { life: thisLife.life }) };
}

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user, so it is alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DirLock {
  private constructor(
    private readonly fs: FileSystem,
    private readonly path: string,
  ) {}

  static async acquire(fs: FileSystem, dir: string, options: DirLockOptions): Promise<DirLock> {
    const { name, what } = options;
    const owner = options.owner ?? thisProcess();
    const path = `${dir}/${name}`;
    // The life in the name: an earlier life with this pid may have left a private directory behind.
    const life = owner.life;
    const privateName = (kind: string): string => `${dir}/${name}.${kind}${owner.pid}.${life === undefined ? '' : `${life}.`}${(nonceCounter += 1)}`;
    const built = privateName('');
    await fs.mkdir(built);
    try {
      await fs.writeFile(`${built}/owner`, new TextEncoder().encode(JSON.stringify({ pid: owner.pid, hostname: owner.hostname, life })));
    } catch (error) {
      // A full disk: nothing else would remove it while this process lives (removeDeadPrivateDirs
      // spares a living opener's), and an unlink needs no room.
      await fs.rmdir(built);
      throw error;
    }
    if (!(await tryRename(fs, built, path))) {
      const holder = await readOwner(fs, path);
      if (holder !== undefined && isHeld(holder, owner)) {
        await fs.rmdir(built);
        throw lockedError(path, holder, what, owner);
      }
      const stale = privateName('stale.');
      const cleared = !(await tryRename(fs, path, stale)) || await removeIfStale(fs, stale, path, owner);
      if (!cleared || !(await tryRename(fs, built, path))) {
        await fs.rmdir(built);
        throw lockedError(path, await readOwner(fs, path), what, owner);
      }
    }
    await removeDeadPrivateDirs(fs, dir, name, owner);
    return new DirLock(fs, path);
  }

  async release(): Promise<void> {
    await this.fs.rmdir(this.path);
  }
}

/**
 * Deletes the lock just renamed away to `stale`, unless it is no longer the stale one judged:
 * between reading the owner and the rename, another opener may have taken the stale lock over
 * and put its own, live one in its place. That one goes back (LOCKED): deleting it would leave
 * two writers on the directory. False if it was put back.
 */
async function removeIfStale(fs: FileSystem, stale: string, path: string, me: LockOwnerIdentity): Promise<boolean> {
  const moved = await readOwner(fs, stale);
  if (moved === undefined || !isHeld(moved, me)) {
    await fs.rmdir(stale);
    return true;
  }
  // Back under its name, unless a third opener got in meanwhile (then both believe they hold
  // it: the limit of a lock built from renames alone, docs/wal.md "Lock").
  await tryRename(fs, stale, path);
  return false;
}

/**
 * A lock with this host and this pid is held only if this life took it: kill(pid, 0) would say
 * alive (it is us), but an earlier life with the same pid is dead. Such a file without a life
 * was written before lives were recorded, so by another process. Where this process's life is
 * unknown (not Linux), the pid alone decides, as before: held.
 */
function isHeld(holder: OwnerRecord, me: LockOwnerIdentity): boolean {
  if (holder.hostname !== me.hostname) return true;
  if (holder.pid !== me.pid) return me.isAlive(holder.pid);
  const life = me.life;
  return life === undefined || holder.life === life;
}

function lockedError(path: string, holder: OwnerRecord | undefined, what: string, me: LockOwnerIdentity): BrookError {
  const details = { path, pid: holder?.pid, hostname: holder?.hostname };
  // Most often a test that opened the directory again without closing the first opener.
  if (holder !== undefined && holder.pid === me.pid && holder.hostname === me.hostname && isHeld(holder, me)) {
    const message = `${path} is held by this process (${holder.pid} on ${holder.hostname}, or another thread of it); ${what} has one writer: close the one open on it first (await its close())`;
    return new BrookError('LOCKED', message, details);
  }
  const who = holder ? `process ${holder.pid} on ${holder.hostname}` : 'another process';
  return new BrookError('LOCKED', `${path} is held by ${who}; ${what} has one writer`, details);
}

/** Rename that reports "target exists" as false; any other failure is an I/O error to surface. */
async function tryRename(fs: FileSystem, from: string, to: string): Promise<boolean> {
  try {
    await fs.rename(from, to);
    return true;
  } catch (error) {
    const errno = isBrookError(error, 'IO_ERROR') ? error.details['errno'] : undefined;
    if (errno === 'ENOTEMPTY' || errno === 'EEXIST' || errno === 'ENOENT') return false;
    throw error;
  }
}

async function readOwner(fs: FileSystem, lockPath: string): Promise<OwnerRecord | undefined> {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(await fs.readFile(`${lockPath}/owner`)));
    const record = parsed as Partial<OwnerRecord>;
    if (typeof record.pid !== 'number' || typeof record.hostname !== 'string') return undefined;
    return { pid: record.pid, hostname: record.hostname, ...(typeof record.life === 'string' && { life: record.life }) };
  } catch {
    // Missing or torn: the holder died before its owner file reached the disk.
    return undefined;
  }
}

/** Private lock directories a dead opener left behind (killed between mkdir and rename). */
async function removeDeadPrivateDirs(fs: FileSystem, dir: string, lockName: string, owner: LockOwnerIdentity): Promise<void> {
  const privatePattern = new RegExp(`^${lockName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(?:stale\\.)?(\\d+)\\.(?:([0-9a-z]+)\\.)?\\d+$`);
  for (const name of await fs.readdir(dir)) {
    const match = privatePattern.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    const life = owner.life;
    const dead = pid === owner.pid ? life !== undefined && match[2] !== life : !owner.isAlive(pid);
    if (dead) await fs.rmdir(`${dir}/${name}`);
  }
}
