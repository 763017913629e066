/**
 * The producer-state snapshot of a partition, `<partitionDir>/producer-state.snapshot`, written
 * tmp -> fsync -> rename. JSON, offsets as decimal strings (JSON has no 64-bit integers):
 *
 *   { "version": 1,
 *     "offset": "1234",                       replay the log from here at open
 *     "producers": [                          least recently used first
 *       { "id": "7", "epoch": 0,
 *         "batches": [[0, 9, "1000", "1009"], ...] } ] }   [firstSeq, lastSeq, baseOffset, lastOffset], oldest first
 *
 * Promise of a snapshot: every idempotent batch below `offset` is in it (as far as the table
 * remembers), and every batch in it was durable in the log when it was written. It may also hold
 * batches at or above `offset`; replay skips those.
 *
 * The file is a cache of what the log says: one that fails validation is ignored and the state is
 * rebuilt from the log, as a bad index file is.
 */
import { BrookError, writeFileAtomic, type FileSystem } from '@brook/protocol';
import { PRODUCER_SNAPSHOT_FILE } from '../log/segment-files.js';
import { parseDecimal } from './decimal.js';
import { EPOCH_MAX, RECENT_BATCHES_PER_PRODUCER, SEQUENCE_MAX, addToSequence, type ProducerEntry, type RecentBatch } from './producer-entry.js';

export interface ProducerSnapshot {
  readonly offset: bigint;
  /** Least recently used first. */
  readonly producers: readonly (readonly [bigint, ProducerEntry])[];
}

const SNAPSHOT_VERSION = 1;

type WrittenBatch = [number, number, string, string];

export function snapshotPath(dir: string): string {
  return `${dir}/${PRODUCER_SNAPSHOT_FILE}`;
}

export function encodeSnapshot(offset: bigint, producers: Iterable<readonly [bigint, ProducerEntry]>): Uint8Array {
  const written = [...producers].map(([id, entry]) => ({
    id: id.toString(),
    epoch: entry.epoch,
    batches: entry.batches.map((b): WrittenBatch => [b.firstSeq, b.lastSeq, b.baseOffset.toString(), b.lastOffset.toString()]),
  }));
  return new TextEncoder().encode(JSON.stringify({ version: SNAPSHOT_VERSION, offset: offset.toString(), producers: written }));
}

export function writeSnapshot(fs: FileSystem, dir: string, bytes: Uint8Array): Promise<void> {
  return writeFileAtomic(fs, snapshotPath(dir), bytes);
}

/** Removes the snapshot so that a power cut cannot bring it back (its directory is fsynced). */
export async function removeSnapshot(fs: FileSystem, dir: string): Promise<void> {
  await fs.unlink(snapshotPath(dir));
  await fs.syncDir(dir);
}

/** The snapshot in `dir`; undefined if there is none; CORRUPT_METADATA if it fails validation. */
export async function readSnapshot(fs: FileSystem, dir: string): Promise<ProducerSnapshot | undefined> {
  const path = snapshotPath(dir);
  if (!(await fs.exists(path))) return undefined;
  const bytes = await fs.readFile(path);
  try {
    return decodeSnapshot(JSON.parse(new TextDecoder().decode(bytes)) as unknown);
  } catch (error) {
    throw new BrookError('CORRUPT_METADATA', `${path} is not a valid producer-state snapshot: ${String(error)}`, { file: path }, { cause: error });
  }
}

function decodeSnapshot(file: unknown): ProducerSnapshot {
  const { version, offset, producers } = file as { version?: unknown; offset?: unknown; producers?: unknown };
  if (version !== SNAPSHOT_VERSION) throw new Error(`unknown version ${String(version)}`);
  if (!Array.isArray(producers)) throw new Error('producers is not an array');
  const decoded = producers.map(decodeProducer);
  if (new Set(decoded.map(([id]) => id)).size !== decoded.length) throw new Error('a producer id appears twice');
  return { offset: parseDecimal(offset, 'offset'), producers: decoded };
}

function decodeProducer(producer: unknown): [bigint, ProducerEntry] {
  const { id, epoch, batches } = producer as { id?: unknown; epoch?: unknown; batches?: unknown };
  if (!isInteger(epoch, 0, EPOCH_MAX)) throw new Error(`epoch ${String(epoch)}`);
  if (!Array.isArray(batches) || batches.length < 1 || batches.length > RECENT_BATCHES_PER_PRODUCER) throw new Error('batches count');
  const decoded = batches.map(decodeBatch);
  for (let i = 1; i < decoded.length; i++) {
    if (decoded[i]!.baseOffset <= decoded[i - 1]!.lastOffset) throw new Error('batches not in offset order');
  }
  return [parseDecimal(id, 'id'), { epoch, batches: decoded }];
}

/** A batch's sequence range must span exactly its offsets: a cheap check that catches most damage. */
function decodeBatch(batch: unknown): RecentBatch {
  if (!Array.isArray(batch) || batch.length !== 4) throw new Error('a batch is not [firstSeq, lastSeq, baseOffset, lastOffset]');
  const [firstSeq, lastSeq, base, last] = batch as unknown[];
  const baseOffset = parseDecimal(base, 'baseOffset');
  const lastOffset = parseDecimal(last, 'lastOffset');
  if (!isInteger(firstSeq, 0, SEQUENCE_MAX) || !isInteger(lastSeq, 0, SEQUENCE_MAX)) throw new Error('sequence out of range');
  const span = lastOffset - baseOffset;
  if (span < 0n || span > BigInt(SEQUENCE_MAX) || addToSequence(firstSeq, Number(span)) !== lastSeq) {
    throw new Error(`sequences ${firstSeq}..${lastSeq} do not span offsets ${baseOffset}..${lastOffset}`);
  }
  return { firstSeq, lastSeq, baseOffset, lastOffset };
}

function isInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
