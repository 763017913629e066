/**
 * The order in which a broker opens and closes what it holds. Open: the topics, then the groups,
 * then the producer state of every partition. Clean shutdown: what is under way on topics
 * finishes, listeners and sessions end, retention stops, the contents (groups, producer state,
 * topics) close, and last the data directory's clean-shutdown marker is written and its lock
 * released (data-dir.ts).
 */
import type { FileSystem } from '@brook/protocol';
import type { DataDir } from './data-dir.js';
import type { GroupCoordinator } from './groups/group-coordinator.js';
import type { PartitionTarget, Producers } from './producers/producers.js';
import type { SessionHub } from './server/session-hub.js';
import { settleEach } from './steps.js';
import type { RetentionRunner } from './topics/retention-runner.js';
import type { TopicRegistry } from './topics/topic-registry.js';
import type { LogDefaults, PartitionFailureListener, Topic } from './topics/topic.js';

/** What a broker opens and closes. */
export interface BrokerParts {
  readonly topics: TopicRegistry;
  readonly sessions: SessionHub;
  readonly retention: RetentionRunner;
  readonly groups: GroupCoordinator;
  readonly producers: Producers;
  readonly dir: DataDir;
}

/** Opens the topics, then their groups, then the producer state of every partition. */
export async function openContents(
  parts: BrokerParts, fs: FileSystem, logDefaults: LogDefaults, partitionFailed: PartitionFailureListener,
  partitionTarget: (topic: Topic, partition: number) => PartitionTarget,
): Promise<void> {
  try {
    await parts.topics.open(fs, `${parts.dir.path}/topics`, logDefaults, partitionFailed);
    await parts.groups.open();
    const partitions = [...parts.topics.values()].flatMap((topic) => topic.partitions.map((_, partition) => partitionTarget(topic, partition)));
    await parts.producers.open(partitions, parts.dir.cleanShutdown);
  } catch (error) {
    // What opened before the failure (a corrupt group state, say) closes again: its file
    // handles, and under fsync { intervalMs } each log's timer, must not outlive a broker
    // that never opened.
    await closeContents(parts);
    throw error;
  }
}

export async function closeInOrder(parts: BrokerParts): Promise<void> {
  // A create or delete under way finishes first: its files must be complete (or gone) before
  // the clean-shutdown marker is written and the lock released, and a created topic closed.
  await parts.topics.closing();
  await parts.sessions.close();
  parts.retention.stop();
  // A failure is reported once every step ran: the lock is released whatever became of the rest.
  const failures = await closeContents(parts);
  await parts.dir.close(failures.length === 0).catch((error: unknown) => void failures.push(error));
  if (failures.length > 0) throw failures[0];
}

/**
 * Closes the groups, the producer state and the topics, each step whatever became of the one
 * before (a journal whose last flush failed must not leave the topics' files open); returns
 * the failures in order.
 */
async function closeContents(parts: BrokerParts): Promise<unknown[]> {
  const failures: unknown[] = [];
  const step = (work: () => Promise<unknown>) => work().catch((error: unknown) => void failures.push(error));
  await step(() => parts.groups.close());
  await step(() => parts.producers.close());
  // Every partition of every topic in one queue: TEARDOWN_STEPS_MAX at once over the whole broker.
  await step(() => settleEach([...parts.topics.values()].flatMap((topic) => topic.partitions), (log) => log.close()));
  return failures;
}
