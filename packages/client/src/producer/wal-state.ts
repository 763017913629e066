/**
 * The WAL producer's numbering state, `<wal dir>/producer.json`, written tmp -> fsync -> rename
 * -> directory fsync (writeFileAtomic), so a crash leaves the old or the new state, never a mix:
 *
 *   { "version": 1, "incarnation": "1732300000000-81234567", "producerId": "7", "producerEpoch": 0,
 *     "committedWalBatch": 41, "partitions": [["orders", 2, "7", 0, 120], ...] }
 *                                                          topic, partition, producerId, epoch, nextSequence
 *
 * Meaning: WAL batches up to `committedWalBatch` were acknowledged by the broker; the next one
 * is sent with, per partition, that producer id and epoch from `nextSequence`. A partition not
 * listed starts on the shared `producerId` at sequence 0. Because a WAL batch's records (and the
 * partition of each) are fixed in the WAL, this state and the batch give the same sequences on
 * every send of it, before and after any crash: the broker drops a resend as a duplicate.
 *
 * `incarnation` is the broker data directory's that issued every id in the file (one for all:
 * ids of a new incarnation replace them all). A broker on another data directory may have issued
 * the same ids to other producers, so a resume or a batch naming it is refused there and the
 * producer takes new ids. A file written before incarnations has none: unknown, resumed as before.
 */
import { BrookError, SEQUENCE_MAX, addToSequence, assert, isIncarnation, showValue, writeFileAtomic, type FileSystem } from '@brook/protocol';
import type { ProducerIdentity } from './batch.js';

export const STATE_FILE = 'producer.json';
const STATE_VERSION = 1;
/** producerEpoch is an int16 that never goes below 0. */
const EPOCH_MAX = 0x7fff;

export interface PartitionNumbering extends ProducerIdentity {
  readonly nextSequence: number;
}

export interface WalProducerState {
  /** The incarnation every id here was issued under; undefined until known. */
  readonly incarnation: string | undefined;
  /** The shared producer id; undefined until the broker first issued one. */
  readonly shared: ProducerIdentity | undefined;
  readonly committedWalBatch: number;
  /** Keyed by routeKey(topic, partition). */
  readonly partitions: ReadonlyMap<string, PartitionNumbering>;
}

export const EMPTY_STATE: WalProducerState = Object.freeze({ incarnation: undefined, shared: undefined, committedWalBatch: -1, partitions: new Map() });

export function routeKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

/** The identity and first sequence for the next batch to `key`; undefined if no shared id yet. */
export function numberingOf(state: WalProducerState, key: string): PartitionNumbering | undefined {
  const own = state.partitions.get(key);
  const numbering = own ?? (state.shared && { ...state.shared, nextSequence: 0 });
  return numbering && { ...numbering, incarnation: state.incarnation };
}

/** The state once `counts` records (per partition key) of WAL batch `walBatch` are in the log. */
export function advanced(state: WalProducerState, walBatch: number, counts: ReadonlyMap<string, number>): WalProducerState {
  const partitions = new Map(state.partitions);
  for (const [key, count] of counts) {
    const numbering = numberingOf(state, key);
    assert(numbering !== undefined, 'a batch was written without a producer id', { key });
    partitions.set(key, { ...numbering, nextSequence: addToSequence(numbering.nextSequence, count) });
  }
  return { ...state, committedWalBatch: walBatch, partitions };
}

/** `identity` becomes the shared id and its incarnation the state's; every partition restarts on it at 0. */
export function startedOver(state: WalProducerState, identity: ProducerIdentity): WalProducerState {
  return { ...state, incarnation: identity.incarnation, shared: identity, partitions: new Map() };
}

/**
 * The state once partition `key` moved to the fresh id `fresh` at sequence 0. A fresh id from
 * another incarnation (the broker's data directory was replaced) voids every id of ours: it
 * becomes the shared one for all partitions. Decided on the state the write applies to, so two
 * partitions renumbering at once do not both start over.
 */
export function withFreshId(state: WalProducerState, key: string, fresh: ProducerIdentity): WalProducerState {
  if (fresh.incarnation !== undefined && fresh.incarnation !== state.incarnation) return startedOver(state, fresh);
  return { ...state, partitions: new Map(state.partitions).set(key, { ...fresh, nextSequence: 0 }) };
}

export async function loadState(fs: FileSystem, dir: string): Promise<WalProducerState> {
  const path = `${dir}/${STATE_FILE}`;
  if (!(await fs.exists(path))) return EMPTY_STATE;
  const bytes = await fs.readFile(path);
  try {
    return parseState(JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>);
  } catch (error) {
    throw new BrookError('CORRUPT_METADATA', `${path} is not a WAL producer state: ${String(error)}`, { file: path }, { cause: error });
  }
}

export function saveState(fs: FileSystem, dir: string, state: WalProducerState): Promise<void> {
  const file = {
    version: STATE_VERSION,
    incarnation: state.incarnation, // left out by JSON.stringify while undefined
    producerId: state.shared?.producerId.toString() ?? null,
    producerEpoch: state.shared?.producerEpoch ?? 0,
    committedWalBatch: state.committedWalBatch,
    partitions: [...state.partitions].map(([key, n]) => {
      const colon = key.indexOf(':');
      return [key.slice(colon + 1), Number(key.slice(0, colon)), n.producerId.toString(), n.producerEpoch, n.nextSequence];
    }),
  };
  return writeFileAtomic(fs, `${dir}/${STATE_FILE}`, new TextEncoder().encode(JSON.stringify(file)));
}

function parseState(file: Record<string, unknown>): WalProducerState {
  if (file['version'] !== STATE_VERSION) throw new Error(`unknown version ${String(file['version'])}`);
  const committedWalBatch = file['committedWalBatch'];
  if (!Number.isSafeInteger(committedWalBatch) || (committedWalBatch as number) < -1) throw new Error('bad committedWalBatch');
  if (!Array.isArray(file['partitions'])) throw new Error('partitions is not an array');
  const partitions = new Map<string, PartitionNumbering>();
  for (const entry of file['partitions'] as unknown[]) {
    const [topic, partition, producerId, producerEpoch, nextSequence] = entry as [unknown, unknown, unknown, unknown, unknown];
    // Out of range is damage: sent as it is, every batch would be refused and set aside as poison.
    if (typeof topic !== 'string' || !inRange(partition, Number.MAX_SAFE_INTEGER) || !inRange(producerEpoch, EPOCH_MAX) || !inRange(nextSequence, SEQUENCE_MAX)) {
      throw new Error(`bad partition entry ${JSON.stringify(entry)}`);
    }
    partitions.set(routeKey(topic, partition), { producerId: id(producerId), producerEpoch, nextSequence });
  }
  const producerEpoch = file['producerEpoch'];
  if (!inRange(producerEpoch, EPOCH_MAX)) throw new Error(`bad producerEpoch ${showValue(producerEpoch)}`);
  const shared = file['producerId'] === null ? undefined : { producerId: id(file['producerId']), producerEpoch };
  const incarnation = file['incarnation'];
  if (incarnation !== undefined && !isIncarnation(incarnation)) throw new Error(`bad incarnation ${JSON.stringify(incarnation)}`);
  return { incarnation, shared, committedWalBatch: committedWalBatch as number, partitions };
}

function id(value: unknown): bigint {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new Error(`bad producer id ${showValue(value)}`);
  return BigInt(value);
}

function inRange(value: unknown, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max;
}
