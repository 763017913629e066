/**
 * Proxies for tests that check a failure path leaves no file open: a MemoryFileSystem that counts
 * the handles open per path, and a file system whose k-th call fails.
 */
import { BrookError, type FileHandle, type FileSystem, type MemoryFileSystem } from '@brook/protocol';

/**
 * `fs`, counting the handles open per path. With `limit.openMax` set, an open past that many
 * handles fails as a process out of file descriptors does (EMFILE, as NodeFileSystem maps it).
 */
export function trackOpenHandles(fs: MemoryFileSystem, limit: { openMax?: number } = {}): {
  fs: MemoryFileSystem; openPaths: (pattern: RegExp) => string[]; openCount: () => number;
} {
  const open = new Map<string, number>();
  const openCount = () => [...open.values()].reduce((sum, count) => sum + count, 0);
  const tracking = new Proxy(fs, {
    get(target, property) {
      if (property === 'open') {
        return async (path: string, mode: Parameters<MemoryFileSystem['open']>[1]) => {
          // Counted before the open resolves, as the kernel does: opens at once cannot all slip under the limit.
          if (limit.openMax !== undefined && openCount() >= limit.openMax) {
            throw new BrookError('IO_ERROR', `open ${path} failed: EMFILE (test)`, { op: 'open', errno: 'EMFILE' });
          }
          open.set(path, (open.get(path) ?? 0) + 1);
          const handle = await target.open(path, mode).catch((error: unknown) => {
            open.set(path, open.get(path)! - 1);
            throw error;
          });
          let closed = false;
          return new Proxy(handle, {
            get(h, name) {
              if (name === 'close') {
                return async () => {
                  if (!closed) open.set(path, open.get(path)! - 1);
                  closed = true;
                  return h.close();
                };
              }
              const value: unknown = Reflect.get(h, name, h);
              return typeof value === 'function' ? value.bind(h) : value;
            },
          });
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { fs: tracking, openCount, openPaths: (pattern) => [...open].filter(([path, count]) => pattern.test(path) && count > 0).map(([path]) => path) };
}

/** `fs`, whose `failAt`-th call from `arm()` on (of its own methods or a handle's, close aside) rejects with IO_ERROR. */
export function failingCalls(fs: FileSystem) {
  let calls = 0;
  let failAt = 0;
  const call = (name: string): void => {
    calls += 1;
    if (calls === failAt) throw new BrookError('IO_ERROR', `${name} failed: EMFILE (test)`, { op: name, errno: 'EMFILE' });
  };
  const handleOf = (handle: FileHandle): FileHandle => new Proxy(handle, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (name !== 'close') call(`${String(name)} ${target.path}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const failing = new Proxy(fs, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        call(`${String(name)} ${String(args[0])}`);
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        return name === 'open' ? handleOf(result as FileHandle) : result;
      };
    },
  });
  return {
    fs: failing,
    /** Counts calls from 0 again; the `k`-th fails (none for 0). */
    arm(k: number) {
      calls = 0;
      failAt = k;
    },
    get calls() {
      return calls;
    },
  };
}
