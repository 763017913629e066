/**
 * What deleteTopic (topics/topic-lifecycle.ts) does to the groups of its topic: up to its commit
 * point they leave the listing but keep running; past it they end, each with its groupDeleted, and
 * their directories go.
 */
import { topicDeletedError } from '../ending-errors.js';
import type { Group } from './group.js';
import type { GroupConfigFiles } from './group-config-files.js';
import { groupKey, type GroupTable } from './group-table.js';
import type { LiveSubscriptions } from './subscription.js';
import type { TailReaders } from './tail-readers.js';

/** The GroupCoordinator's tables a topic delete works on. */
export interface DeletedTopicGroupsDeps {
  readonly groups: GroupTable;
  readonly live: LiveSubscriptions;
  readonly readers: TailReaders;
  /** Per group key, the deleteGroup under way. */
  readonly deleting: ReadonlyMap<string, Promise<void>>;
  /** Per group key, the group opens under way. */
  readonly opening: ReadonlyMap<string, Promise<Group>>;
  readonly configs: GroupConfigFiles;
  /** groupDeleted: the group's last event, once it is gone for good. */
  readonly reportDeleted: (topic: string, group: string) => void;
}

export class DeletedTopicGroups {
  /** Per topic, the groups a deleteTopic took off the listing until its commit point (hideGroupsOf). */
  private readonly hidden = new Map<string, Group[]>();

  constructor(private readonly deps: DeletedTopicGroupsDeps) {}

  /**
   * deleteTopic, up to its commit point: the topic's groups leave the listing at once (the topic
   * is gone from the registry, so describeGroup, and a /metrics scrape, would refuse them) but
   * keep running, since a delete that fails there changes nothing (showGroupsOf puts them back).
   */
  hideGroupsOf(topic: string): void {
    this.hidden.set(topic, this.deps.groups.forgetTopic(topic));
  }

  /** The groups of `topic` hidden by a delete not yet past its commit point: a failed delete shows them again. */
  hiddenGroupsOf(topic: string): readonly Group[] {
    return this.hidden.get(topic) ?? [];
  }

  showGroupsOf(topic: string): void {
    for (const group of this.hidden.get(topic) ?? []) {
      this.deps.groups.add(group);
      group.schedulePump(); // records appended while it was hidden did not wake it
    }
    this.hidden.delete(topic);
  }

  /**
   * deleteTopic, past its commit point: ends the topic's readers and members and its groups,
   * once the joins opening a group of it and the group deletes under way are done (so none is
   * left behind), each group with its groupDeleted. Their files go later, with removeGroupsOf.
   */
  async dropTopic(topic: string): Promise<void> {
    const ending = topicDeletedError(topic);
    this.deps.live.end(topic, ending);
    for (const reader of this.deps.readers.ofTopic(topic)) this.deps.readers.leave(reader);
    const dropped = this.hidden.get(topic) ?? [];
    this.hidden.delete(topic);
    const ofTopic = ([key]: [string, unknown]) => key.startsWith(groupKey(topic, ''));
    const deletes = [...this.deps.deleting].filter(ofTopic);
    // A group delete under way removes files in the topic's group directory, which goes next.
    const [deleted] = await Promise.all([
      Promise.allSettled(deletes.map(([, pending]) => pending)),
      Promise.allSettled([...this.deps.opening].filter(ofTopic).map(([, pending]) => pending)),
    ]);
    dropped.push(...this.deps.groups.forgetTopic(topic));
    // The topic is gone for good: a group that fails to save its last state loses nothing more.
    await Promise.allSettled(dropped.map((group) => group.close(ending)));
    // A group whose own delete failed before its commit point goes with the topic.
    const failedDeletes = deletes.filter((_, i) => deleted[i]!.status === 'rejected').map(([key]) => key.slice(groupKey(topic, '').length));
    for (const name of new Set([...dropped.map((group) => group.name), ...failedDeletes])) this.deps.reportDeleted(topic, name);
  }

  /**
   * Removes the group directories of a topic that does not exist, durably: after a delete, and
   * before a create, since an interrupted or failed delete can leave them, and a group of the
   * new topic must not find the old one's position.
   */
  removeGroupsOf(topic: string): Promise<void> {
    return this.deps.configs.removeTopic(topic);
  }
}
