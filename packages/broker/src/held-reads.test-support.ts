/**
 * A MemoryFileSystem seen through a proxy that can hold the next read of a file, for tests that
 * make a call wait in the middle of reading a log (a reset or a redrive) while others run.
 */
import { MemoryFileSystem, type FileHandle } from '@brook/protocol';
import { engineFixture } from './groups/group-fixture.js';

/**
 * A world whose file system can hold the next read of a file matching a pattern until
 * `release()`: a reset looking up its offset by time, or a redrive reading the dead-letter topic,
 * waits there, deterministically.
 */
export async function heldReads() {
  let hold: { pattern: RegExp; reached: () => void; released: Promise<void> } | undefined;
  const holdingHandle = (handle: FileHandle): FileHandle => new Proxy(handle, {
    get(target, property) {
      if (property === 'readInto') {
        return async (...args: Parameters<FileHandle['readInto']>) => {
          const armed = hold;
          if (armed?.pattern.test(target.path)) {
            hold = undefined;
            armed.reached();
            await armed.released;
          }
          return target.readInto(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const fs = new Proxy(new MemoryFileSystem(), {
    get(target, property) {
      if (property === 'open') return async (...args: Parameters<MemoryFileSystem['open']>) => holdingHandle(await target.open(...args));
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  /** Holds the next read of a file matching `pattern`: `reached` once it is waiting. */
  const holdNextRead = (pattern: RegExp) => {
    let reached = (): void => undefined;
    let release = (): void => undefined;
    const waiting = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    hold = { pattern, reached, released };
    return { reached: waiting, release };
  };
  // Without the tail cache, finding an offset by time reads the segment file.
  return { world: await engineFixture({ fs, logTailCacheBytes: 0 }), holdNextRead };
}
