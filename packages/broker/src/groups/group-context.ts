/**
 * What a group needs from the broker around it: time and randomness, the timer queue it shares
 * with the other groups, the events to report to, its topic's partition logs, read limits, and a
 * way to append to its dead-letter topic.
 */
import type { Clock, Random } from '@brook/protocol';
import type { BrokerEventEmitter } from '../events.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { DeadlineQueue } from './deadline-queue.js';
import type { GroupAttempts } from './group-attempts.js';
import type { Entry } from './partition-window.js';

export interface GroupContext {
  readonly clock: Clock;
  readonly random: Random;
  readonly deadlines: DeadlineQueue;
  readonly events: BrokerEventEmitter;
  readonly logs: readonly PartitionLog[];
  readonly unackedRecordsMax: number;
  readonly fetchBytes: number;
  /** Appends a dead-lettered record to `deadLetterTopic`; resolves with its offset there. */
  readonly deadLetter: (entry: Entry, group: GroupAttempts, deadLetterTopic: string, deliveryCount: number, reason: string) => Promise<bigint>;
}
