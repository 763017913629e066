/** What the GroupCoordinator needs from the broker, and what a join gives back. */
import type { Clock, FileSystem, Random } from '@brook/protocol';
import { LIMITS } from '../config/defaults.js';
import type { BrokerLimits } from '../config/broker-options.js';
import type { BrokerEventEmitter } from '../events.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { ProduceRecord } from '../topics/record-input.js';
import type { CopyLimits } from './copy-batch.js';
import type { Group } from './group.js';
import type { JournalLogOptions } from './group-journal.js';
import type { Member } from './member.js';
import type { TailReader } from './tail-reader.js';

export interface CoordinatorDeps {
  readonly fs: FileSystem;
  readonly dataDir: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly events: BrokerEventEmitter;
  readonly journalLogOptions: JournalLogOptions;
  readonly journalBytesMax: number;
  readonly unackedRecordsMax: number;
  readonly fetchBytes: number;
  readonly partitions: (topic: string) => readonly PartitionLog[];
  readonly topicExists: (topic: string) => boolean;
  readonly produce: (topic: string, records: ProduceRecord[]) => Promise<{ partition: number; offset: bigint }[]>;
  readonly ensureTopic: (topic: string) => Promise<void>;
  /** The batch limits a write of several dead-letter copies to `topic` keeps to (read at each write: its retention may change). */
  readonly copyLimits: (topic: string) => CopyLimits;
}

/**
 * The journal and read limits of a broker's groups: a group journal is a partition log with the
 * broker's log defaults but its own segment size, and no tail cache (a journal is read back only
 * when its group opens: caching its tail would only hold memory).
 */
export function groupJournalLimits(
  logDefaults: Omit<JournalLogOptions, 'segmentBytesMax' | 'segmentMsMax'>,
  limits: Pick<BrokerLimits, 'groupJournalBytesMax' | 'groupUnackedRecordsMax' | 'fetchBytesMax'>,
): Pick<CoordinatorDeps, 'journalLogOptions' | 'journalBytesMax' | 'unackedRecordsMax' | 'fetchBytes'> {
  return {
    journalLogOptions: { ...logDefaults, segmentBytesMax: limits.groupJournalBytesMax, segmentMsMax: LIMITS.segmentMsMax.max, tailCacheBytes: 0 },
    journalBytesMax: limits.groupJournalBytesMax,
    unackedRecordsMax: limits.groupUnackedRecordsMax,
    fetchBytes: limits.fetchBytesMax,
  };
}

export type Joined = { kind: 'member'; group: Group; member: Member } | { kind: 'reader'; reader: TailReader };
