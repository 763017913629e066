/**
 * Names of a partition directory's files. A segment is three files sharing one stem, its base
 * offset as 20 zero-padded decimal digits (the width of the largest i64), so that a plain
 * lexical sort of the directory is also the offset order:
 *
 *   00000000000000000000.log         record batches, back to back
 *   00000000000000000000.index       sparse offset -> position
 *   00000000000000000000.timeindex   sparse timestamp -> offset
 *   producer-state.snapshot          the producers' idempotence state (producers/)
 *   log-start.json                   no record below its offset is in the log (log-start.ts)
 *
 * The index files, the snapshot and log-start.json are written atomically, through a `<name>.tmp` sibling.
 */
export const SEGMENT_FILE_SUFFIXES = Object.freeze(['.log', '.index', '.timeindex'] as const);
export type SegmentFileSuffix = (typeof SEGMENT_FILE_SUFFIXES)[number];

export const PRODUCER_SNAPSHOT_FILE = 'producer-state.snapshot';
export const LOG_START_FILE = 'log-start.json';

const STEM_DIGITS = 20;
const INDEX_FILE_PATTERN = /^(\d{20})\.(index|timeindex)$/;
const SEGMENT_LOG_PATTERN = /^(\d{20})\.log$/;

export function segmentStem(baseOffset: bigint): string {
  return baseOffset.toString().padStart(STEM_DIGITS, '0');
}

export function segmentPath(dir: string, baseOffset: bigint, suffix: SegmentFileSuffix): string {
  return `${dir}/${segmentStem(baseOffset)}${suffix}`;
}

/** The base offset named by a `.log` file name, or undefined for any other name. */
export function parseSegmentLogName(name: string): bigint | undefined {
  const match = SEGMENT_LOG_PATTERN.exec(name);
  return match ? BigInt(match[1]!) : undefined;
}

/** The stem named by an index file's name, or undefined for any other name. */
export function parseIndexFileStem(name: string): string | undefined {
  return INDEX_FILE_PATTERN.exec(name)?.[1];
}

/**
 * Whether `name` is what a crash in an atomic write of this directory leaves (see above): the
 * `.tmp` of an index file, of the snapshot or of log-start.json. A `.tmp` of any other name is not Brook's.
 */
export function isAtomicWriteLeftover(name: string): boolean {
  if (!name.endsWith('.tmp')) return false;
  const written = name.slice(0, -'.tmp'.length);
  return written === PRODUCER_SNAPSHOT_FILE || written === LOG_START_FILE || parseIndexFileStem(written) !== undefined;
}
