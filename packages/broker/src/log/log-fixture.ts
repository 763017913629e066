/**
 * Shared set-up for the log's tests: a partition log on a MemoryFileSystem and a VirtualClock,
 * and helpers to make batches and read everything back. Test-only (imported by *.test.ts).
 */
import { MemoryFileSystem, VirtualClock, decodeBatch, encodeBatch, type LogRecord } from '@brook/protocol';
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
