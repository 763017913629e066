/**
 * The options of `Broker.open`, and their limits resolved against the defaults table (so a bad
 * value fails at open with INVALID_CONFIG, naming the option).
 */
import {
  BrookError, MemoryFileSystem, NodeFileSystem, SystemClock, checkOptionKeys, optionKeysOf, showValue, type Clock, type FileSystem, type OptionKeys, type Random,
} from '@brook/protocol';
import { limitOrDefault, type FsyncPolicy, type LIMITS } from './defaults.js';

export interface BrokerOptions {
  /** Where topics live on disk. Required unless `storage: 'memory'`. */
  dataDir?: string;
  /** 'memory' keeps everything in a MemoryFileSystem (lost at close; for tests and demos). */
  storage?: 'disk' | 'memory';
  fsync?: FsyncPolicy;
  clock?: Clock;
  /** Jitter of redelivery backoff. Default: seeded from `seed`. */
  random?: Random;
  /** Seed for the default Random (default 1): same seed, same run. */
  seed?: number;
  /** Overrides the file system (tests pass a MemoryFileSystem they can power-cut). */
  fs?: FileSystem;
  segmentBytesMax?: number;
  segmentMsMax?: number;
  timestampAheadMsMax?: number;
  indexIntervalBytes?: number;
  logTailCacheBytes?: number;
  batchBytesMax?: number;
  batchRecordsMax?: number;
  fetchRecordsMax?: number;
  fetchBytesMax?: number;
  retentionCheckIntervalMs?: number;
  groupUnackedRecordsMax?: number;
  groupJournalBytesMax?: number;
  producersPerPartitionMax?: number;
  producerSnapshotIntervalMs?: number;
}

/** The limits a broker reads from its options; every other LIMITS entry is per topic or per subscription. */
const BROKER_LIMIT_NAMES = [
  'segmentBytesMax', 'segmentMsMax', 'timestampAheadMsMax', 'indexIntervalBytes', 'logTailCacheBytes', 'batchBytesMax', 'batchRecordsMax', 'fetchRecordsMax',
  'fetchBytesMax', 'retentionCheckIntervalMs', 'groupUnackedRecordsMax', 'groupJournalBytesMax',
  'producersPerPartitionMax', 'producerSnapshotIntervalMs',
] as const satisfies readonly (keyof typeof LIMITS & keyof BrokerOptions)[];

export type BrokerLimits = Record<(typeof BROKER_LIMIT_NAMES)[number], number>;

const BROKER_OPTION_KEYS: OptionKeys<BrokerOptions> = {
  dataDir: true, storage: true, fsync: true, clock: true, random: true, seed: true, fs: true,
  ...optionKeysOf(BROKER_LIMIT_NAMES),
};

/** Every option of Broker.open known by name (checkOptionKeys), its limits within range. */
export function resolveBrokerLimits(options: BrokerOptions): BrokerLimits {
  checkOptionKeys(options, BROKER_OPTION_KEYS);
  const limits = {} as BrokerLimits;
  for (const name of BROKER_LIMIT_NAMES) limits[name] = limitOrDefault(name, options[name]);
  return limits;
}

/** The data directory of storage 'memory'. */
const MEMORY_DATA_DIR = '/brook';

/**
 * Where the broker keeps its data and on what clock: a dataDir on disk (locked against a second
 * process), or storage 'memory' (a MemoryFileSystem, or the one a test passes: one process, no lock).
 */
export function resolveStorage(options: BrokerOptions): { fs: FileSystem; clock: Clock; dataDir: string; lock: boolean } {
  // Only an absent option takes its default: a null dataDir made a disk broker on MEMORY_DATA_DIR.
  if (options.storage !== undefined && options.storage !== 'disk' && options.storage !== 'memory') {
    throw new BrookError('INVALID_CONFIG', `storage must be 'disk' or 'memory', got ${showValue(options.storage)}`, { option: 'storage' });
  }
  const memory = options.storage === 'memory';
  if (!memory && options.dataDir === undefined) {
    throw new BrookError('INVALID_CONFIG', "dataDir is required unless storage is 'memory'", { option: 'dataDir' });
  }
  if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || options.dataDir === '')) {
    throw new BrookError('INVALID_CONFIG', `dataDir must be a non-empty path, got ${showValue(options.dataDir)}`, { option: 'dataDir' });
  }
  return {
    fs: options.fs ?? (memory ? new MemoryFileSystem() : new NodeFileSystem()),
    clock: options.clock ?? new SystemClock(),
    dataDir: options.dataDir ?? MEMORY_DATA_DIR,
    lock: options.fs === undefined && !memory,
  };
}
