/**
 * The broker's data directory as a whole: the single-writer lock that keeps a second broker out,
 * and the clean-shutdown marker that tells the next open whether recovery scans can be skipped.
 *
 * Open takes the lock, then reads and removes the marker, so a crash from then on is seen as
 * unclean; a clean close writes the marker, once everything inside is closed, and only then lets
 * the lock go. A close after a log failed (or one whose own steps failed) writes no marker: the
 * next open recovers as after a crash, since a failed fsync leaves the durable state unknown.
 */
import { DirLock, isDirectory, isTopicName, mkdirDurable, writeFileAtomic, type FileSystem } from '@brook/protocol';

const CLEAN_SHUTDOWN_MARKER = '.clean-shutdown';
/** The single-writer lock directory inside a data directory (DirLock). */
export const DATA_DIR_LOCK = 'broker.lock';

export class DataDir {
  private healthy = true;

  private constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    /** True if the last run ended with a clean close (its marker was found). */
    readonly cleanShutdown: boolean,
    private readonly lock: DirLock | undefined,
  ) {}

  /**
   * Makes the directory if needed and takes the marker away, holding the lock if `locked`: on the
   * real disk two brokers would interleave appends (the second gets LOCKED); a MemoryFileSystem
   * has one process.
   */
  static async open(fs: FileSystem, path: string, locked: boolean): Promise<DataDir> {
    await mkdirDurable(fs, `${path}/topics`);
    const lock = locked ? await DirLock.acquire(fs, path, { name: DATA_DIR_LOCK, what: 'a data directory' }) : undefined;
    try {
      return new DataDir(fs, path, await takeMarker(fs, path), lock);
    } catch (error) {
      await lock?.release().catch(() => undefined);
      throw error;
    }
  }

  /** A broker that failed to open lets the directory go, writing no marker. */
  async abandon(): Promise<void> {
    await this.lock?.release().catch(() => undefined);
  }

  /**
   * A log in the directory failed (a failed fsync, seal or write): what is durable is unknown
   * until recovery scans it, so no later close may call the directory clean.
   */
  storageFailed(): void {
    this.healthy = false;
  }

  /**
   * The close, once everything inside is closed: the marker if the directory is `clean` (every
   * close step succeeded) and no log failed while it ran, then the lock released.
   */
  async close(clean: boolean): Promise<void> {
    try {
      if (clean && this.healthy) await writeFileAtomic(this.fs, `${this.path}/${CLEAN_SHUTDOWN_MARKER}`, new Uint8Array(0));
    } finally {
      await this.lock?.release();
    }
  }
}

/** Whether the marker was there; it is gone (durably) once this resolves. */
async function takeMarker(fs: FileSystem, path: string): Promise<boolean> {
  const markerPath = `${path}/${CLEAN_SHUTDOWN_MARKER}`;
  const cleanShutdown = await fs.exists(markerPath);
  if (cleanShutdown) {
    await fs.unlink(markerPath);
    await fs.syncDir(path);
  } else {
    // After a kill, a directory may exist whose entry was never fsynced (mkdirDurable skips
    // existing ones): make the entries of the top directories durable before trusting them.
    await fs.syncDir(path);
    await fs.syncDir(`${path}/topics`);
  }
  return cleanShutdown;
}

/**
 * The entries of `dir` (topics/, groups/, groups/<topic>/) that Brook could have made: directories
 * named by the topic-name rule (group names follow it too), the only kind it makes there. Open
 * removes those of them that no committed file claims (what a crash left of a create or delete);
 * anything else someone else put there, and Brook leaves it alone.
 */
export async function namedDirs(fs: FileSystem, dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const name of await fs.readdir(dir)) {
    if (isTopicName(name) && (await isDirectory(fs, `${dir}/${name}`))) names.push(name);
  }
  return names;
}
