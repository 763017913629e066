/**
 * A MemoryFileSystem seen through a proxy that can hold the next read of a file, its next fsync,
 * the next unlink of one or the next fsync of a directory, for tests that make a call wait in the middle (a reset
 * or a redrive reading a log, a retention pass deleting segments) while others run.
 */
import { MemoryFileSystem, type FileHandle } from '@brook/protocol';
import { engineFixture } from './groups/group-fixture.js';

interface Hold { pattern: RegExp; reached: () => void; released: Promise<void> }

/** Arms a hold on the next operation whose path matches `pattern`: `reached` once it is waiting. */
function arming(set: (hold: Hold) => void) {
  return (pattern: RegExp) => {
    let reached = (): void => undefined;
    let release = (): void => undefined;
    const waiting = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    set({ pattern, reached, released });
    return { reached: waiting, release };
  };
}

type HeldOperation = 'read' | 'sync' | 'unlink' | 'syncDir';

/**
 * A world whose file system can hold the next read of a file matching a pattern until
 * `release()` (a reset looking up its offset by time, or a redrive reading the dead-letter topic,
 * waits there, deterministically), or the next fsync of a file matching one (an append waiting
 * to be durable), or the next unlink of a file or fsync of a directory matching
 * one (a retention pass deleting a partition's segment files).
 */
export async function heldReads() {
  const holds = new Map<HeldOperation, Hold>();
  /** Runs `operation` once the hold armed on `kind` for `path`, if any, is released (and disarms it). */
  const held = async <T>(kind: HeldOperation, path: string, operation: () => Promise<T>): Promise<T> => {
    const hold = holds.get(kind);
    if (hold?.pattern.test(path)) {
      holds.delete(kind);
      hold.reached();
      await hold.released;
    }
    return operation();
  };
  const holdingHandle = (handle: FileHandle): FileHandle => new Proxy(handle, {
    get(target, property) {
      if (property === 'readInto') {
        return (...args: Parameters<FileHandle['readInto']>) => held('read', target.path, () => target.readInto(...args));
      }
      if (property === 'sync') return () => held('sync', target.path, () => target.sync());
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const fs = new Proxy(new MemoryFileSystem(), {
    get(target, property) {
      if (property === 'open') return async (...args: Parameters<MemoryFileSystem['open']>) => holdingHandle(await target.open(...args));
      if (property === 'unlink' || property === 'syncDir') return (path: string) => held(property, path, () => target[property](path));
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  // Without the tail cache, finding an offset by time reads the segment file.
  return {
    world: await engineFixture({ fs, logTailCacheBytes: 0 }),
    holdNextRead: arming((hold) => holds.set('read', hold)),
    holdNextSync: arming((hold) => holds.set('sync', hold)),
    holdNextUnlink: arming((hold) => holds.set('unlink', hold)),
    holdNextDirSync: arming((hold) => holds.set('syncDir', hold)),
  };
}
