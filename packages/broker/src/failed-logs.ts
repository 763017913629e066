/**
 * The logs of a broker that refuse writes until it is reopened: a topic partition's or a group
 * journal's whose fsync, seal or torn round failed (docs/storage.md, I/O errors). After a failed
 * fsync the kernel may have dropped the dirty pages ("fsyncgate"), so only a reopen, which scans
 * and recovers the files, can say what is durable. /healthz answers 503 while there is one.
 */
import type { BrookError, LogFailureDescription } from '@brook/protocol';
import type { BrokerEventEmitter } from './events.js';
import type { GroupCoordinator } from './groups/group-coordinator.js';
import { describeFailure, type PartitionFailureListener, type Topic } from './topics/topic.js';

/** A failed partition log (`partition`) or group journal (`group`), and why. */
export type FailedLog =
  | { readonly topic: string; readonly partition: number; readonly failure: LogFailureDescription }
  | { readonly topic: string; readonly group: string; readonly failure: LogFailureDescription };

/** Partition logs first, topic by topic in the order given, then group journals (by topic, then group). */
export function failedLogs(topics: Iterable<Topic>, groups: GroupCoordinator): FailedLog[] {
  const partitions = [...topics].flatMap((topic) => topic.partitions.flatMap((log, partition) => (
    log.failed ? [{ topic: topic.name, partition, failure: describeFailure(log.failed)! }] : []
  )));
  const journals = groups.failedJournals().map(({ topic, group, failure }) => ({ topic, group, failure: { code: failure.code, message: failure.message } }));
  return [...partitions, ...journals];
}

/** One line for /healthz: which log, its code and message. */
export function describeFailedLog(failed: FailedLog): string {
  const where = 'partition' in failed ? `topic ${failed.topic} partition ${failed.partition}` : `group ${failed.group} of topic ${failed.topic}`;
  return `${where}: ${failed.failure.message}`;
}

/** The broker's `logFailed` event for the log at `where` (a topic's partition, or a group's journal). */
export function emitLogFailed(events: BrokerEventEmitter, where: { topic: string; partition: number } | { topic: string; group: string }, error: BrookError): void {
  if (events.wants('logFailed')) events.emit('logFailed', { ...where, code: error.code, message: error.message });
}

/**
 * The listener for a broker's partition logs: a failure is said at once (logFailed), even when no
 * produce is waiting for the fsync that failed (the { intervalMs } timer's, a seal's), not first
 * by the next produce's IO_ERROR.
 */
export function partitionFailureEvents(events: BrokerEventEmitter): PartitionFailureListener {
  return (topic, partition, error) => emitLogFailed(events, { topic, partition }, error);
}
