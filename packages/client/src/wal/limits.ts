/**
 * Every tunable of the FileBuffer, its default and its limits, in one frozen table; units are
 * last in each name (a count is in records). `resolveOptions` checks a whole options object
 * against it when the buffer opens, so a bad option fails early with INVALID_CONFIG instead of
 * misbehaving later.
 */
import {
  BrookError, checkLimitValue, checkOptionKeys, parseFsyncPolicy,
  type Clock, type FileSystem, type FsyncPolicy, type Limit, type LockOwnerIdentity, type OptionKeys,
} from '@brook/protocol';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const DAY_MS = 24 * 60 * 60 * 1000;

export type { FsyncPolicy };
export type OnFull = 'wait' | 'reject';

export const WAL_LIMITS = Object.freeze({
  maxRecords: {
    default: 1000, min: 1, max: 1_000_000,
    doc: 'A batch is sealed once it holds this many records.',
  },
  maxBytes: {
    default: 1 * MiB, min: 128, max: 64 * MiB,
    doc: "Largest batch, measured as its encoded RecordBatch v2 size (what the producer sends). A batch is sealed before a record would take it past this; a lone record beyond it is MESSAGE_TOO_LARGE. The default matches the broker's batchBytesMax.",
  },
  maxAgeMs: {
    default: 100, min: 0, max: DAY_MS,
    doc: 'A non-empty open batch is sealed this long after its first record was put (a timer on the Clock). 0 seals every record at once.',
  },
  walBytesMax: {
    default: 256 * MiB, min: 4 * KiB, max: 64 * GiB,
    doc: "Most bytes of uncommitted WAL frames (records put, not yet committed). Past it, put() waits or rejects with BUFFER_FULL, per onFull. Must be at least maxBytes + 64 so a largest record always fits once everything is committed.",
  },
  segmentBytesMax: {
    default: 16 * MiB, min: 4 * KiB, max: 1 * GiB,
    doc: 'A segment file rolls at the first batch seal that finds it this large; fully committed segments are deleted. Disk use stays under walBytesMax + segmentBytesMax + one batch, plus a SEAL frame (21 bytes) per uncommitted batch and a header (38 bytes) per segment.',
  },
  fsyncIntervalMs: {
    default: 10, min: 1, max: DAY_MS,
    doc: "fsync { intervalMs }: about how long a put() that resolved can still be lost to a power cut (plus the fsync's own time, and a running one's).",
  },
} as const satisfies Record<string, Limit>);

export const WAL_DEFAULTS = Object.freeze({ fsync: 'always' as FsyncPolicy, onFull: 'wait' as OnFull });

export type { LockOwnerIdentity };

/** The WAL's single-writer lock (DirLock) inside its directory. */
export const WAL_LOCK_NAME = 'wal.lock';

export interface FileBufferOptions {
  dir: string;
  maxRecords?: number;
  maxBytes?: number;
  maxAgeMs?: number;
  fsync?: FsyncPolicy;
  walBytesMax?: number;
  onFull?: OnFull;
  segmentBytesMax?: number;
  fs?: FileSystem;
  clock?: Clock;
  /** Default: this process (process.pid, os.hostname(), `kill(pid, 0)`). Tests simulate processes. */
  owner?: LockOwnerIdentity;
}

export const FILE_BUFFER_KEYS: OptionKeys<FileBufferOptions> = {
  dir: true, maxRecords: true, maxBytes: true, maxAgeMs: true, fsync: true, walBytesMax: true, onFull: true, segmentBytesMax: true, fs: true, clock: true, owner: true,
};

export interface ResolvedOptions {
  readonly dir: string;
  readonly maxRecords: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly fsync: FsyncPolicy;
  readonly walBytesMax: number;
  readonly onFull: OnFull;
  readonly segmentBytesMax: number;
}

/** Largest WAL frame overhead around one record's encoded batch (see frame-codec.ts). */
const RECORD_FRAME_SLACK_BYTES = 64;

function invalid(option: string, message: string, value: unknown): BrookError {
  return new BrookError('INVALID_CONFIG', `${option} ${message}`, { option, value });
}

/**
 * Checks a whole options object against WAL_LIMITS. `parent` is where the caller wrote it
 * ('wal' for a WAL producer's `wal: { ... }`), so INVALID_CONFIG names each option as written:
 * `wal.maxRecords`, `fsync.intervalMs`, as it names an unknown key.
 */
export function resolveOptions(options: FileBufferOptions, parent?: string): ResolvedOptions {
  const name = (option: string) => (parent === undefined ? option : `${parent}.${option}`);
  const limit = (option: keyof typeof WAL_LIMITS, value: unknown) => (value === undefined ? WAL_LIMITS[option].default : checkLimitValue(name(option), WAL_LIMITS[option], value));
  checkOptionKeys(options, FILE_BUFFER_KEYS, parent);
  if (typeof options.dir !== 'string' || options.dir === '') throw invalid(name('dir'), 'must be a non-empty path', options.dir);
  const onFull = options.onFull === undefined ? WAL_DEFAULTS.onFull : options.onFull; // null is refused, not the default
  if (onFull !== 'wait' && onFull !== 'reject') throw invalid(name('onFull'), "must be 'wait' or 'reject'", onFull);
  const resolved: ResolvedOptions = {
    dir: options.dir,
    maxRecords: limit('maxRecords', options.maxRecords),
    maxBytes: limit('maxBytes', options.maxBytes),
    maxAgeMs: limit('maxAgeMs', options.maxAgeMs),
    fsync: parseFsyncPolicy(options.fsync, WAL_DEFAULTS.fsync, WAL_LIMITS.fsyncIntervalMs, name('fsync')),
    walBytesMax: limit('walBytesMax', options.walBytesMax),
    onFull,
    segmentBytesMax: limit('segmentBytesMax', options.segmentBytesMax),
  };
  if (resolved.walBytesMax < resolved.maxBytes + RECORD_FRAME_SLACK_BYTES) {
    throw invalid(name('walBytesMax'), `must be at least maxBytes + ${RECORD_FRAME_SLACK_BYTES} (${resolved.maxBytes + RECORD_FRAME_SLACK_BYTES}), got ${resolved.walBytesMax}`, resolved.walBytesMax);
  }
  return resolved;
}
