/**
 * A MemoryFileSystem seen through a proxy that counts the handles open per path, for tests that
 * check a failure path leaves no file open.
 */
import type { MemoryFileSystem } from '@brook/protocol';

export function trackOpenHandles(fs: MemoryFileSystem): { fs: MemoryFileSystem; openPaths: (pattern: RegExp) => string[] } {
  const open = new Map<string, number>();
  const tracking = new Proxy(fs, {
    get(target, property) {
      if (property === 'open') {
        return async (path: string, mode: Parameters<MemoryFileSystem['open']>[1]) => {
          const handle = await target.open(path, mode);
          open.set(path, (open.get(path) ?? 0) + 1);
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
  return { fs: tracking, openPaths: (pattern) => [...open].filter(([path, count]) => pattern.test(path) && count > 0).map(([path]) => path) };
}
