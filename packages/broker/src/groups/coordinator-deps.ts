/** What the GroupCoordinator needs from the broker, and what a join gives back. */
import type { Clock, FileSystem, Random } from '@brook/protocol';
import type { BrokerEventEmitter } from '../events.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { ProduceRecord } from '../topics/record-input.js';
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
}

export type Joined = { kind: 'member'; group: Group; member: Member } | { kind: 'reader'; reader: TailReader };
