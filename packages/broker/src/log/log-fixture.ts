/**
 * Shared set-up for the log's tests: a partition log on a MemoryFileSystem and a VirtualClock,
 * and helpers to make batches and read everything back. Test-only (imported by *.test.ts).
 */
import { MemoryFileSystem, VirtualClock, decodeBatch, encodeBatch, type FileHandle, type FileSystem, type LogRecord } from '@brook/protocol';
import type { FsyncPolicy } from '../config/defaults.js';
import { PartitionLog, type PartitionLogOptions } from './partition-log.js';

export const LOG_DIR = '/data/orders/0';

export interface LogFixture {
  fs: MemoryFileSystem;
  clock: VirtualClock;
  options: PartitionLogOptions;
  open(overrides?: Partial<PartitionLogOptions>): Promise<PartitionLog>;
}

export function logFixture(overrides: Partial<PartitionLogOptions> & { fsync?: FsyncPolicy } = {}): LogFixture {
  const fs = new MemoryFileSystem();
  const clock = new VirtualClock();
  const options: PartitionLogOptions = {
    fs, clock, dir: LOG_DIR, fsync: 'always', segmentBytesMax: 64 * 1024 * 1024, segmentMsMax: 7 * 24 * 3600 * 1000,
    indexIntervalBytes: 4096, batchBytesMax: 64 * 1024 * 1024, readChunkBytes: 64 * 1024, cleanShutdown: false,
    tailCacheBytes: 0, ...overrides,
  };
  return { fs, clock, options, open: (more = {}) => PartitionLog.open({ ...options, ...more }) };
}

/** A batch of `count` records whose values are `${label}-${i}`, timestamped `timestampMs` (+i). */
export function batchOf(label: string, count: number, timestampMs = 1_700_000_000_000, valueBytes = 0): Uint8Array {
  const records = Array.from({ length: count }, (_, i) => ({
    key: new TextEncoder().encode(`k${i % 7}`),
    value: new TextEncoder().encode(`${label}-${i}`.padEnd(valueBytes, '.')),
    timestamp: timestampMs + i,
  }));
  return encodeBatch(records);
}

/** Every record from `from` to the end of the log, decoded. */
export async function readAll(log: PartitionLog, from = log.startOffset): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  let offset = from;
  while (offset < log.endOffset) {
    const batches = await log.read(offset, { maxBytes: 1024 * 1024 });
    for (const batch of batches) {
      for (const record of decodeBatch(batch.bytes).records) if (record.offset >= offset) records.push(record);
    }
    offset = records.at(-1)!.offset + 1n;
  }
  return records;
}

export function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

/** Calls `target`'s methods on `target`, except those `overrides` replaces. */
function delegate<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, property) {
      if (property in overrides) return overrides[property as keyof T];
      const value: unknown = Reflect.get(object, property);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

/** `fs`, except that once `hold()` is called, fsyncs of the files `held` picks wait until `release()`. */
export function holdingSyncsOf(fs: MemoryFileSystem, held: (path: string) => boolean) {
  let holding = false;
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const state = { held: 0 };
  const hold = (handle: FileHandle): FileHandle => delegate(handle, {
    sync: async () => {
      if (holding) {
        state.held += 1;
        await released;
      }
      return handle.sync();
    },
  });
  const wrapped = delegate<FileSystem>(fs, {
    open: async (openPath, mode) => {
      const handle = await fs.open(openPath, mode);
      return held(openPath) ? hold(handle) : handle;
    },
  });
  return { fs: wrapped, state, hold: () => (holding = true), release };
}

export interface FileRead {
  readonly position: number;
  readonly length: number;
}

/**
 * `fs`, recording where and how much each read (`readInto`) of the files `recorded` picks asks
 * for, after `before` (if given) has run for it, and how many handles of them are opened and closed.
 */
export function recordingReadsOf(
  fs: MemoryFileSystem, recorded: (path: string) => boolean, before: (read: FileRead) => Promise<void> = async () => undefined,
) {
  const reads: FileRead[] = [];
  const handles = { opened: 0, closed: 0 };
  const record = (handle: FileHandle): FileHandle => delegate(handle, {
    readInto: async (target, targetOffset, length, position) => {
      reads.push({ position, length });
      await before({ position, length });
      return handle.readInto(target, targetOffset, length, position);
    },
    close: () => {
      handles.closed += 1;
      return handle.close();
    },
  });
  const wrapped = delegate<FileSystem>(fs, {
    open: async (openPath, mode) => {
      const handle = await fs.open(openPath, mode);
      if (!recorded(openPath)) return handle;
      handles.opened += 1;
      return record(handle);
    },
  });
  return { fs: wrapped, reads, handles };
}

/**
 * `fs`, except that once `hold()` is called, each fsync of the files `held` picks waits until
 * `releaseOne()` lets the oldest waiting one go: fsyncs that follow one another, each as slow as
 * the test says.
 */
export function steppingSyncsOf(fs: MemoryFileSystem, held: (path: string) => boolean) {
  let holding = false;
  const waiting: (() => void)[] = [];
  const hold = (handle: FileHandle): FileHandle => delegate(handle, {
    sync: async () => {
      if (holding) await new Promise<void>((resolve) => waiting.push(resolve));
      return handle.sync();
    },
  });
  const wrapped = delegate<FileSystem>(fs, {
    open: async (openPath, mode) => {
      const handle = await fs.open(openPath, mode);
      return held(openPath) ? hold(handle) : handle;
    },
  });
  return {
    fs: wrapped,
    hold: () => (holding = true),
    get waiting(): number {
      return waiting.length;
    },
    releaseOne: () => waiting.shift()?.(),
    /** Lets every fsync go, now and from now on. */
    releaseAll: () => {
      holding = false;
      for (const release of waiting.splice(0)) release();
    },
  };
}

/** Lets every pending memory file system operation and its continuations run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
