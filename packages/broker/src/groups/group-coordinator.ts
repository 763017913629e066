/**
 * Owns every group of the broker: creates or reopens their durable state, adds and removes
 * members, tells groups about new records and retention, and serves the admin calls
 * (describe, reset, redrive, delete).
 *
 *   groups/<topic>/<group>/config.json    the settings the group's members agreed on (group-config-files.ts)
 *   groups/<topic>/<group>/state.json     } see group-journal.ts
 *   groups/<topic>/<group>/journal-<gen>/ }
 */
import { BrookError, checkStringFields, type GroupDescription } from '@brook/protocol';
import { namedDirs } from '../data-dir.js';
import { emitLogFailed } from '../failed-logs.js';
import type { PartitionLog } from '../log/partition-log.js';
import { DeadlineQueue } from './deadline-queue.js';
import { Group } from './group.js';
import type { GroupContext } from './group-context.js';
import { openGroupState, raiseNewGroupToStart, raisedToStart, startOffsetFor } from './group-state.js';
import {
  checkStartPosition, checkSubscribeOptionKeys, checkTailReaderOptions, resolveGroupConfig, resolveMaxInFlight, validateGroupName,
  type GroupConfig, type StartPosition, type SubscribeOptions,
} from './subscribe-options.js';
import { TailReaders } from './tail-readers.js';
import { GroupConfigFiles } from './group-config-files.js';
import { GroupTable, groupKey } from './group-table.js';
import type { DeliverySink } from './member.js';
import { describeGroup } from './describe.js';
import { DeliveryQueue, LiveSubscriptions, messageStream, subscriptionHandle, type MessageStream, type Subscription } from './subscription.js';
import { sinkControl } from './sink-control.js';
import { LIMITS } from '../config/defaults.js';
import { DeadLetterCopies } from './dead-letter-copies.js';
import { DeadLetterCycles } from './dead-letter-cycles.js';
import { REDRIVE_GROUP, Redriver, checkRedriveOptions, type RedriveOptions, type RedriveResult } from './redrive.js';
import { KeyedQueue } from './keyed-queue.js';
import { DeletedTopicGroups } from './deleted-topic-groups.js';
import type { CoordinatorDeps, Joined } from './coordinator-deps.js';
import { brokerClosedError, topicDeletedError } from '../ending-errors.js';
import { settleEach } from '../steps.js';

export type { CoordinatorDeps, Joined };

export class GroupCoordinator {
  private readonly groups = new GroupTable();
  /** So that a deleted topic or a closing broker can end their loops and settle their `ended`. */
  private readonly live = new LiveSubscriptions();
  private readonly readers: TailReaders;
  private readonly opening = new Map<string, Promise<Group>>();
  /** Per group key, the deleteGroup under way: an open of the name, deleteTopic and close wait for it. */
  private readonly deleting = new Map<string, Promise<void>>();
  private readonly configs: GroupConfigFiles;
  /** Per group key, the joins under way, one at a time (joined or refused). */
  private readonly joins = new KeyedQueue();
  /** Per group key, the resets under way: they apply in call order. */
  private readonly resets = new KeyedQueue();
  private readonly redriver: Redriver;
  private readonly topicDeletes: DeletedTopicGroups;
  private readonly deadLetterCopies: DeadLetterCopies;
  private readonly deadLetterCycles: DeadLetterCycles;
  /** close() began: a join or group open still under way fails with CLOSED instead of leaving a group open. */
  private closed = false;
  readonly deadlines: DeadlineQueue;

  constructor(private readonly deps: CoordinatorDeps) {
    this.deadlines = new DeadlineQueue(deps.clock);
    this.readers = new TailReaders({ ...deps, deadlines: this.deadlines });
    this.configs = new GroupConfigFiles(deps.fs, deps.dataDir);
    this.deadLetterCopies = new DeadLetterCopies(deps, deps.copyLimits);
    this.topicDeletes = new DeletedTopicGroups({
      groups: this.groups, live: this.live, readers: this.readers, deleting: this.deleting, opening: this.opening, configs: this.configs,
      reportDeleted: (topic, group) => this.reportDeleted(topic, group),
    });
    this.deadLetterCycles = new DeadLetterCycles((topic) => [...this.groups.ofTopic(topic), ...this.topicDeletes.hiddenGroupsOf(topic)]);
    this.redriver = new Redriver({
      fetchBytes: deps.fetchBytes, partitions: deps.partitions, produceBack: deps.produce, copyLimits: deps.copyLimits,
      progress: async (topic, create) => (create ? this.redriveGroup(topic) : this.groups.get(topic, REDRIVE_GROUP)),
    });
  }

  /** Reopens every group found on disk, so their floors count for retention from the start. */
  async open(): Promise<void> {
    const root = `${this.deps.dataDir}/groups`;
    if (!(await this.deps.fs.exists(root))) return;
    for (const topic of await namedDirs(this.deps.fs, root)) {
      // Groups of a topic that is gone (a delete interrupted after its commit point) go too.
      if (!this.deps.topicExists(topic)) {
        await this.removeGroupsOf(topic);
        continue;
      }
      for (const name of await namedDirs(this.deps.fs, `${root}/${topic}`)) {
        const config = await this.configs.read(topic, name);
        if (config) await this.group(topic, name, config);
        else await this.configs.removeUncommitted(topic, name);
      }
    }
  }

  async join(options: SubscribeOptions, sink: DeliverySink): Promise<Joined> {
    checkSubscribeOptionKeys(options);
    checkStringFields({ topic: options.topic });
    checkStringFields({ group: options.group, name: options.name }, true);
    const logs = this.deps.partitions(options.topic);
    const maxInFlight = resolveMaxInFlight(options);
    if (options.group === undefined) {
      checkTailReaderOptions(options);
      // Checked as a group's is: a bad one would otherwise fail deep in the log, or read from a number.
      const from = checkStartPosition(options.from === undefined ? 'latest' : options.from);
      const found = await Promise.all(logs.map((log) => startOffsetFor(log, from)));
      this.checkStillJoinable(options.topic, logs);
      return { kind: 'reader', reader: this.readers.add(options.topic, logs, raisedToStart(found, logs), maxInFlight, sink) };
    }
    // Redrive acks its group directly, which a member's deliveries would contradict.
    if (options.group === REDRIVE_GROUP) throw new BrookError('INVALID_REQUEST', `group name ${REDRIVE_GROUP} is reserved for redrive progress`, { group: options.group });
    const config = resolveGroupConfig(options);
    const name = validateGroupName(options.group);
    // One join of a group at a time: a join made alongside one that is changing the settings
    // agrees with what that one set, and finds its member there. Registered before the first
    // await, so that deleteGroup sees the join from the call on (GROUP_NOT_EMPTY).
    return this.joins.run(groupKey(options.topic, name), async () => {
      // Checked before any file is touched; its dead-letter edge counts from here, so a join of
      // another group cannot close a cycle with it meanwhile.
      const claim = this.deadLetterCycles.claim(options.topic, name, config.deadLetterTopic);
      try {
        const group = await this.group(options.topic, name, config);
        await this.configs.agree(group, config);
        this.checkStillJoinable(options.topic, logs);
        return { kind: 'member' as const, group, member: group.join(maxInFlight, options.name, sink) };
      } finally {
        claim.release(); // the group has the edge now, or kept its own
      }
    });
  }

  /**
   * A join waits for files; the broker may have begun to close, or the topic been deleted (and
   * created again), meanwhile. Then the join fails as one made after the close or the delete
   * would, rather than join a group that close() has closed or the delete dropped.
   */
  private checkStillJoinable(topic: string, logs: readonly PartitionLog[]): void {
    if (this.closed) throw brokerClosedError();
    if (this.deps.partitions(topic) !== logs) throw topicDeletedError(topic);
  }

  /** New records: every reader of the topic, and group with members, may have work (a join runs the pump of one without). */
  notifyAppended(topic: string): void {
    for (const group of this.groups.ofTopic(topic)) if (group.members.length > 0) group.schedulePump();
    for (const reader of this.readers.ofTopic(topic)) reader.schedulePump();
  }

  /**
   * Retention deleted records below `startOffset`: the readers and groups it overtook are told.
   * Every group, even when one fails to journal it (a failed journal): the others would go on
   * below startOffset, their losses uncounted. Rejects with the first failure after.
   */
  async retentionMoved(topic: string, partition: number, startOffset: bigint): Promise<void> {
    for (const reader of this.readers.ofTopic(topic)) reader.overtakenBy(partition, startOffset);
    let failure: unknown;
    for (const group of this.groups.ofTopic(topic)) {
      await group.overtakenBy(partition, startOffset).catch((error: unknown) => void (failure ??= error));
    }
    if (failure !== undefined) throw failure;
  }

  /** The lowest ackFloor of any group on a partition: what every group has consumed. */
  consumedBelow(topic: string, partition: number): bigint | undefined {
    let floor: bigint | undefined;
    for (const group of this.groups.ofTopic(topic)) {
      const groupFloor = group.windows[partition]!.ack.ackFloor;
      if (floor === undefined || groupFloor < floor) floor = groupFloor;
    }
    return floor;
  }

  listGroups(topic?: string): { topic: string; group: string }[] {
    return this.groups.list(topic);
  }

  /** The groups whose journal failed, refusing every write until the broker is reopened (failed-logs.ts). */
  failedJournals(): { topic: string; group: string; failure: BrookError }[] {
    return this.groups.list().flatMap(({ topic, group }) => {
      const failure = this.groups.existing(topic, group).journalFailure;
      return failure ? [{ topic, group, failure }] : [];
    });
  }

  describeGroup(topic: string, group: string): GroupDescription {
    return describeGroup(this.groups.existing(topic, group), this.deps.partitions(topic), this.deps.clock);
  }

  /**
   * Moves every partition of a group to `to` (replay or skip); its members keep consuming from
   * there. Resets of one group apply in call order: a reset waits for the one called before it,
   * so the group ends where the last one called put it, even if an earlier one took longer to
   * find its offsets (a timestamp reads the log).
   */
  async resetGroup(topic: string, name: string, to: StartPosition): Promise<bigint[]> {
    const logs = this.deps.partitions(topic);
    const target = checkStartPosition(to, 'to');
    // The redrive group is made by the first record a redrive moves; a reset makes it too, so an
    // operator can give up on records every redrive so far skipped.
    const group = name === REDRIVE_GROUP ? await this.redriveGroup(topic) : this.groups.existing(topic, name);
    return this.resets.run(groupKey(topic, name), async () => {
      // A look-up failing because a delete closed the logs under it fails as the group's loss does.
      const found = await Promise.all(logs.map((log) => startOffsetFor(log, target))).catch((error: unknown) => {
        this.checkStillCurrent(group);
        throw error;
      });
      this.checkStillCurrent(group);
      const offsets = raisedToStart(found, logs);
      await group.resetTo(offsets);
      return offsets;
    });
  }

  /**
   * A reset applies to the group it was called on, as that group is once its offsets are found:
   * one deleted meanwhile fails it as a reset made after the delete would (UNKNOWN_GROUP), even if
   * a group of its name was made again since (on a topic made again, perhaps with other
   * partitions), and one that close() closed takes no reset it could not journal (CLOSED).
   */
  private checkStillCurrent(group: Group): void {
    if (this.closed) throw brokerClosedError();
    this.groups.checkListed(group);
  }

  /**
   * Removes a group without members: it leaves listGroups, describeGroup and /metrics at once,
   * then removeGroup ends it and removes its files. A join of the name made meanwhile waits for
   * the delete and makes a fresh group at its `from`; a second delete finds no group (UNKNOWN_GROUP).
   */
  async deleteGroup(topic: string, name: string): Promise<void> {
    if (name === REDRIVE_GROUP) throw new BrookError('INVALID_REQUEST', `group ${REDRIVE_GROUP} keeps redrive's progress: it goes with its topic`, { topic, group: name });
    const key = groupKey(topic, name);
    const group = this.groups.get(topic, name);
    if ((group && group.members.length > 0) || this.joins.has(key)) {
      throw new BrookError('GROUP_NOT_EMPTY', `group ${name} on ${topic} has members: it can be deleted once they have left`, {
        topic, group: name, members: group?.members.length ?? 0,
      });
    }
    const found = this.groups.existing(topic, name);
    this.groups.remove(found);
    const deleting = this.removeGroup(found);
    this.deleting.set(key, deleting);
    try {
      await deleting;
    } finally {
      this.deleting.delete(key);
    }
  }

  /**
   * The group ends (its timers too: Group.close), then its directory goes, config.json first: the
   * commit point (GroupConfigFiles.remove), where groupDeleted comes. A failure before it puts the
   * group back as its files have it, i.e. as a restart would find it, and rejects (IO_ERROR,
   * retriable: the group is there to delete again). After it the group is gone for good and the
   * delete resolves: the rest of its directory goes at the next open or before the name is used.
   */
  private async removeGroup(group: Group): Promise<void> {
    const { topic, name } = group;
    // What a close fails to save (its journal failed to write) is what the delete removes anyway.
    await group.close(new BrookError('UNKNOWN_GROUP', `group ${name} on ${topic} was deleted`, { topic, group: name })).catch(() => undefined);
    let committed = false;
    try {
      await this.configs.remove(topic, name, () => {
        committed = true;
        this.reportDeleted(topic, name);
      });
    } catch (error) {
      if (committed) return;
      // If this fails too (the disk still failing, or the topic deleted meanwhile), the group is
      // out of the listing until a subscribe of its name, or the next open, finds its files.
      const config = await this.configs.read(topic, name).catch(() => undefined);
      if (config) await this.loadGroup(topic, name, config).catch(() => undefined);
      throw error;
    }
  }

  /** groupDeleted: the group's last event, once it is gone for good. */
  private reportDeleted(topic: string, group: string): void {
    if (this.deps.events.wants('groupDeleted')) this.deps.events.emit('groupDeleted', { topic, group });
  }

  /**
   * Moves dead-lettered records back to the topics they came from (origin headers), oldest first,
   * each once, even across restarts and concurrent calls (redrive.ts).
   */
  async redrive(deadLetterTopic: string, options: RedriveOptions = {}): Promise<RedriveResult> {
    const { maxRecords, endOffsets } = checkRedriveOptions(options);
    return this.redriver.redrive(deadLetterTopic, maxRecords, endOffsets);
  }

  /** The handle for a joined member or reader; `onEnd` runs when its consumer ends it. */
  subscription(options: SubscribeOptions, joined: Joined, onEnd?: () => void): Subscription {
    const endsItself = joined.kind === 'reader' ? this.readers.endingOf(joined.reader) : undefined;
    return subscriptionHandle(options, this.live, joined.kind === 'member' ? joined.member : joined.reader, async (graceful) => {
      if (joined.kind === 'reader') this.readers.leave(joined.reader);
      else if (graceful) await joined.group.drainAndLeave(joined.member);
      else joined.group.leave(joined.member);
    }, onEnd, endsItself);
  }

  /** The async-iterator form (messageStream): joins when created; on a `closed` broker its loop ends with CLOSED. */
  stream(options: SubscribeOptions, closed: boolean): MessageStream {
    // An invalid maxInFlight fails the join, and then the queue gets nothing.
    const queue = new DeliveryQueue(options.maxInFlight ?? LIMITS.maxInFlight.default);
    // Closed: the loop ends with CLOSED, as a client's consume() after client.close() does.
    const joining = closed ? Promise.reject(brokerClosedError()) : this.join(options, queue.sink);
    // Before the stream's own reaction to the join: the loop may read from then on.
    joining.then((joined) => queue.attach(sinkControl(joined)), () => undefined);
    return messageStream(options, this.live, queue, joining, (joined, onEnd) => this.subscription(options, joined, onEnd));
  }

  /** deleteTopic, up to its commit point (DeletedTopicGroups.hideGroupsOf). */
  hideGroupsOf(topic: string): void {
    this.topicDeletes.hideGroupsOf(topic);
  }

  showGroupsOf(topic: string): void {
    this.topicDeletes.showGroupsOf(topic);
  }

  /** deleteTopic, past its commit point (DeletedTopicGroups.dropTopic). */
  dropTopic(topic: string): Promise<void> {
    return this.topicDeletes.dropTopic(topic);
  }

  /** The group directories of a topic that does not exist go (DeletedTopicGroups.removeGroupsOf). */
  removeGroupsOf(topic: string): Promise<void> {
    return this.topicDeletes.removeGroupsOf(topic);
  }

  async close(): Promise<void> {
    this.closed = true;
    const ending = brokerClosedError();
    this.live.end(undefined, ending);
    // A group delete's files go before the clean-shutdown marker is written; a group opened by a
    // join or a redrive under way is in the table once its open ends, so it is closed below too.
    await Promise.allSettled([...this.deleting.values(), ...this.opening.values(), this.joins.settled()]);
    this.deadlines.clear();
    this.readers.closeAll();
    // Each group closes its journal whatever became of the others'.
    await settleEach(this.groups.all(), (group) => group.close(ending));
  }

  /** The dead-letter topic's REDRIVE_GROUP, made at its earliest offset if it has none. */
  private redriveGroup(topic: string): Promise<Group> {
    return this.group(topic, REDRIVE_GROUP, resolveGroupConfig({
      // Never dead-letters (it has no members); the topic's own name is always a valid one.
      topic, group: REDRIVE_GROUP, from: 'earliest', deadLetterTopic: topic,
    }));
  }

  /** The group, opened from disk or created at `config.from` on first use. */
  private group(topic: string, name: string, config: GroupConfig): Promise<Group> {
    const key = groupKey(topic, name);
    const existing = this.groups.get(topic, name);
    if (existing) return Promise.resolve(existing);
    // An open starting now would end after close() closed every group.
    if (this.closed) return Promise.reject(brokerClosedError());
    let opening = this.opening.get(key);
    if (!opening) {
      opening = this.openGroup(topic, name, config).finally(() => this.opening.delete(key));
      this.opening.set(key, opening);
    }
    return opening;
  }

  private async openGroup(topic: string, name: string, config: GroupConfig): Promise<Group> {
    const key = groupKey(topic, name);
    await this.deleting.get(key)?.catch(() => undefined);
    // A delete that failed before its commit point has put the group back.
    return this.groups.get(topic, name) ?? this.loadGroup(topic, name, config);
  }

  /** The group as its files have it (created at `config.from` if they hold none), listed. */
  private async loadGroup(topic: string, name: string, config: GroupConfig): Promise<Group> {
    const logs = this.deps.partitions(topic);
    // What a failed delete or an interrupted create left is no group: this one starts at `from`.
    await this.configs.removeUncommitted(topic, name);
    const { journal, windows, created } = await openGroupState({
      fs: this.deps.fs, dir: `${this.deps.dataDir}/groups/${topic}/${name}`, logs, from: config.from,
      journalLogOptions: this.deps.journalLogOptions, journalBytesMax: this.deps.journalBytesMax,
      created: () => this.configs.write(topic, name, config),
      journalFailed: (error) => emitLogFailed(this.deps.events, { topic, group: name }, error),
    });
    const raised = created ? raiseNewGroupToStart(journal, windows, logs) : undefined;
    const group = new Group(topic, name, config, journal, windows, this.context(logs));
    this.groups.add(group);
    await raised;
    return group;
  }

  private context(logs: readonly PartitionLog[]): GroupContext {
    return {
      clock: this.deps.clock, random: this.deps.random, deadlines: this.deadlines, events: this.deps.events, logs,
      unackedRecordsMax: this.deps.unackedRecordsMax, fetchBytes: this.deps.fetchBytes,
      deadLetter: (entry, group, deadLetterTopic, deliveryCount, reason) => this.deadLetterCopies.copy(deadLetterTopic, entry.record, {
        topic: group.topic, partition: entry.partition, offset: entry.offset, group: group.name, deliveryCount, reason,
      }),
    };
  }
}
