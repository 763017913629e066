/**
 * Creating and deleting a topic: the steps the broker hands to its TopicRegistry, which runs them
 * one name at a time. Cut out of broker.ts; the registry decides when each step runs.
 */
import { checkStringFields, rmdirDurable, validateTopicName, type FileSystem } from '@brook/protocol';
import type { GroupCoordinator } from '../groups/group-coordinator.js';
import type { Producers } from '../producers/producers.js';
import { runEach } from '../steps.js';
import { Topic, partitionDir, resolveTopicConfig, type CreateTopicOptions, type LogDefaults, type PartitionFailureListener } from './topic.js';

/** What the steps touch: the topic's files, its groups and its producer state. */
export interface TopicLifecycle {
  readonly fs: FileSystem;
  readonly groups: GroupCoordinator;
  readonly producers: Producers;
  readonly logDefaults: LogDefaults;
  readonly limits: Parameters<typeof resolveTopicConfig>[1];
  readonly partitionFailed: PartitionFailureListener;
  readonly topicDir: (name: string) => string;
}

/** Checks a createTopic's arguments now (bad input throws before anything waits) and returns the step that makes the topic. */
export function topicCreation(life: TopicLifecycle, name: string, options: CreateTopicOptions): () => Promise<Topic> {
  checkStringFields({ name });
  validateTopicName(name);
  const config = resolveTopicConfig(options, life.limits);
  return async () => {
    // Whatever groups a failed delete left under this name are not the new topic's.
    await life.groups.removeGroupsOf(name);
    return Topic.create(life.fs, life.topicDir(name), name, config, life.logDefaults, life.partitionFailed);
  };
}

/**
 * A deleteTopic's two steps. `commit` removes topic.json, before anything else is touched: a
 * delete failing there changes nothing (its groups are listed again). `removeRest` ends the
 * subscriptions and forgets groups and producer state, then removes the files; each of its steps
 * runs whatever became of the one before, so that no file of the topic stays open.
 */
export function topicRemoval(life: TopicLifecycle, name: string): {
  commit: () => Promise<void>; removeRest: (topic: Topic) => Promise<void>;
} {
  checkStringFields({ name });
  const dir = life.topicDir(name);
  const commit = async (): Promise<void> => {
    life.groups.hideGroupsOf(name);
    await Topic.uncommit(life.fs, dir).catch((error: unknown) => {
      life.groups.showGroupsOf(name);
      throw error;
    });
  };
  const removeRest = (topic: Topic): Promise<void> => runEach([
    () => life.groups.dropTopic(name),
    () => life.producers.forget(topic.partitions.map((_, partition) => partitionDir(dir, partition))),
    () => topic.close(),
    () => rmdirDurable(life.fs, dir),
    () => life.groups.removeGroupsOf(name),
  ]);
  return { commit, removeRest };
}
