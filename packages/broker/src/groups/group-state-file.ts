/**
 * state.json, a group's snapshot (group-journal.ts writes it tmp -> fsync -> rename):
 *
 *   { "generation": 3, "partitions": [ { "ackFloor": "42", "acked": [["44", "46"]], "attempts": [["42", 2]] } ] }
 *
 * Offsets are decimal strings (JSON numbers lose precision past 2^53); one entry per partition of
 * the topic; acked ranges [start, end) sorted, disjoint and not adjacent; attempt counts >= 1.
 * A file that breaks any of this is CORRUPT_METADATA at open: restoring it would trip the ack
 * state's own invariants (a crash of the broker, not an error naming the file).
 */
import { BrookError } from '@brook/protocol';
import { parseDecimal } from '../producers/decimal.js';
import type { AckState, AckStateSnapshot } from './ack-state.js';

interface StateFile {
  generation: number;
  partitions: { ackFloor: string; acked: [string, string][]; attempts: [string, number][] }[];
}

const utf8 = new TextEncoder();

export function encodeStateFile(generation: number, states: readonly AckState[]): Uint8Array {
  const file: StateFile = {
    generation,
    partitions: states.map((state) => {
      const snapshot = state.snapshot();
      return {
        ackFloor: snapshot.ackFloor.toString(),
        acked: snapshot.acked.map(([s, e]) => [s.toString(), e.toString()]),
        attempts: snapshot.attempts.map(([o, n]) => [o.toString(), n]),
      };
    }),
  };
  return utf8.encode(JSON.stringify(file));
}

/** The generation and each partition's ack state; CORRUPT_METADATA naming `path` if the file is not one of `partitions` partitions. */
export function parseStateFile(path: string, bytes: Uint8Array, partitions: number): { generation: number; snapshots: AckStateSnapshot[] } {
  try {
    const file = JSON.parse(new TextDecoder().decode(bytes)) as Partial<StateFile>;
    const { generation } = file;
    if (!Number.isSafeInteger(generation) || generation! < 0) throw new Error(`generation ${String(generation)}`);
    if (!Array.isArray(file.partitions) || file.partitions.length !== partitions) {
      throw new Error(`${Array.isArray(file.partitions) ? file.partitions.length : 'no'} partitions, the topic has ${partitions}`);
    }
    return { generation: generation!, snapshots: file.partitions.map(parseSnapshot) };
  } catch (error) {
    throw new BrookError('CORRUPT_METADATA', `${path} is not a valid group state: ${String(error)}`, { file: path }, { cause: error });
  }
}

function parseSnapshot(partition: StateFile['partitions'][number]): AckStateSnapshot {
  const acked = pairs(partition.acked, 'acked').map(([s, e]) => [parseDecimal(s, 'acked start'), parseDecimal(e, 'acked end')] as const);
  acked.forEach(([start, end], i) => {
    if (!(start < end) || (i > 0 && !(start > acked[i - 1]![1]))) throw new Error(`acked range [${start}, ${end}) empty or out of order`);
  });
  const attempts = pairs(partition.attempts, 'attempts').map(([offset, count]) => {
    if (!Number.isSafeInteger(count) || (count as number) < 1) throw new Error(`attempt count ${String(count)}`);
    return [parseDecimal(offset, 'attempt offset'), count as number] as const;
  });
  return { ackFloor: parseDecimal(partition.ackFloor, 'ackFloor'), acked, attempts };
}

function pairs(value: unknown, what: string): [unknown, unknown][] {
  if (!Array.isArray(value) || !value.every((pair) => Array.isArray(pair) && pair.length === 2)) throw new Error(`${what} is not a list of pairs`);
  return value as [unknown, unknown][];
}
