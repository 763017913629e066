/**
 * Owns every group of the broker: creates or reopens their durable state, adds and removes
 * members, tells groups about new records and retention, and serves the admin calls
 * (describe, reset, redrive, delete).
 *
 *   groups/<topic>/<group>/config.json    the settings the group's members agreed on (group-config-files.ts)
 *   groups/<topic>/<group>/state.json     } see group-journal.ts
 *   groups/<topic>/<group>/journal-<gen>/ }
 */
import { BrookError, REDRIVE_OPTION_KEYS, checkOptionKeys, type Clock, type FileSystem, type GroupDescription, type Random } from '@brook/protocol';
import type { BrokerEventEmitter } from '../events.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { ProduceRecord } from '../topics/record-input.js';
import { DeadlineQueue } from './deadline-queue.js';
import { Group } from './group.js';
import type { GroupAttempts } from './group-attempts.js';
import type { GroupContext } from './group-context.js';
import { GroupJournal, type JournalLogOptions } from './group-journal.js';
import { PartitionWindow, type Entry } from './partition-window.js';
import {
  checkStartPosition, checkSubscribeOptionKeys, resolveGroupConfig, resolveMaxInFlight, validateGroupName,
  type GroupConfig, type StartPosition, type SubscribeOptions,
} from './subscribe-options.js';
import { TailReader } from './tail-reader.js';
import { GroupConfigFiles } from './group-config-files.js';
import type { Member, DeliverySink } from './member.js';
import { describeGroup } from './describe.js';
import { LiveSubscriptions, messageStream, subscriptionEnding, type DeliveryQueue, type MessageStream, type Subscription } from './subscription.js';
import { deadLetterRecord } from './dead-letter.js';
import { REDRIVE_GROUP, Redriver, type RedriveResult } from './redrive.js';

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

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly readers = new Set<TailReader>();
  /** So that a deleted topic or a closing broker can end their loops and settle their `ended`. */
  private readonly live = new LiveSubscriptions();
  private readonly opening = new Map<string, Promise<Group>>();
  /** Per group key, the deleteGroup under way: an open of the name, deleteTopic and close wait for it. */
  private readonly deleting = new Map<string, Promise<void>>();
  private readonly configs: GroupConfigFiles;
  /** Per group key, settles when the last join made so far has ended (joined or refused). */
  private readonly joins = new Map<string, Promise<void>>();
  private readonly redriver: Redriver;
  readonly deadlines: DeadlineQueue;

  constructor(private readonly deps: CoordinatorDeps) {
    this.deadlines = new DeadlineQueue(deps.clock);
    this.configs = new GroupConfigFiles(deps.fs, deps.dataDir);
    this.redriver = new Redriver({
      fetchBytes: deps.fetchBytes, partitions: deps.partitions, produceBack: deps.produce,
      progress: (topic) => this.group(topic, REDRIVE_GROUP, resolveGroupConfig({
        // Never dead-letters (it has no members); the topic's own name is always a valid one.
        topic, group: REDRIVE_GROUP, from: 'earliest', deadLetterTopic: topic,
      })),
    });
  }

  /** Reopens every group found on disk, so their floors count for retention from the start. */
  async open(): Promise<void> {
    const root = `${this.deps.dataDir}/groups`;
    if (!(await this.deps.fs.exists(root))) return;
    for (const topic of await this.deps.fs.readdir(root)) {
      // Groups of a topic that is gone (a delete interrupted after its commit point) go too.
      if (!this.deps.topicExists(topic)) {
        await this.removeGroupsOf(topic);
        continue;
      }
      for (const name of await this.deps.fs.readdir(`${root}/${topic}`)) {
        const config = await this.configs.read(topic, name);
        if (config) await this.group(topic, name, config);
        else await this.configs.removeUncommitted(topic, name);
      }
    }
  }

  async join(options: SubscribeOptions, sink: DeliverySink): Promise<Joined> {
    checkSubscribeOptionKeys(options);
    const logs = this.deps.partitions(options.topic);
    const maxInFlight = resolveMaxInFlight(options);
    if (options.group === undefined) {
      const from = options.from ?? 'latest';
      const offsets = await Promise.all(logs.map((log) => startOffsetFor(log, from)));
      this.checkStillThere(options.topic, logs);
      const reader = new TailReader(options.topic, logs, offsets, maxInFlight, this.deps.fetchBytes, sink);
      this.readers.add(reader);
      reader.schedulePump();
      return { kind: 'reader', reader };
    }
    // Redrive acks its group directly, which a member's deliveries would contradict.
    if (options.group === REDRIVE_GROUP) throw new BrookError('INVALID_REQUEST', `group name ${REDRIVE_GROUP} is reserved for redrive progress`, { group: options.group });
    const config = resolveGroupConfig(options);
    const name = validateGroupName(options.group);
    // One join of a group at a time: a join made alongside one that is changing the settings
    // agrees with what that one set, and finds its member there. Registered before the first
    // await, so that deleteGroup sees the join from the call on (GROUP_NOT_EMPTY).
    const key = groupKey(options.topic, name);
    const previous = this.joins.get(key) ?? Promise.resolve();
    const joining = previous.then(async () => {
      const group = await this.group(options.topic, name, config);
      await this.configs.agree(group, config);
      this.checkStillThere(options.topic, logs);
      return { kind: 'member' as const, group, member: group.join(maxInFlight, options.name, sink) };
    });
    const done = joining.then(() => undefined, () => undefined);
    this.joins.set(key, done);
    void done.then(() => {
      if (this.joins.get(key) === done) this.joins.delete(key);
    });
    return joining;
  }

  /**
   * A join waits for files; the topic may have been deleted (and created again) meanwhile. Then
   * the join fails as one made after the delete would, rather than join what the delete dropped.
   */
  private checkStillThere(topic: string, logs: readonly PartitionLog[]): void {
    if (this.deps.partitions(topic) !== logs) throw deletedTopicError(topic);
  }

  leaveReader(reader: TailReader): void {
    reader.closed = true;
    this.readers.delete(reader);
  }

  /** New records in a partition: every group and reader of the topic may have work. */
  notifyAppended(topic: string): void {
    for (const group of this.groups.values()) if (group.topic === topic) group.schedulePump();
    for (const reader of this.readers) if (reader.topic === topic) reader.schedulePump();
  }

  async retentionMoved(topic: string, partition: number, startOffset: bigint): Promise<void> {
    for (const group of this.groups.values()) if (group.topic === topic) await group.overtakenBy(partition, startOffset);
  }

  /** The lowest ackFloor of any group on a partition: what every group has consumed. */
  consumedBelow(topic: string, partition: number): bigint | undefined {
    let floor: bigint | undefined;
    for (const group of this.groups.values()) {
      if (group.topic !== topic) continue;
      const groupFloor = group.windows[partition]!.ack.ackFloor;
      if (floor === undefined || groupFloor < floor) floor = groupFloor;
    }
    return floor;
  }

  listGroups(topic?: string): { topic: string; group: string }[] {
    return [...this.groups.values()].filter((g) => topic === undefined || g.topic === topic)
      .map((g) => ({ topic: g.topic, group: g.name }))
      .sort((a, b) => (a.topic + '/' + a.group).localeCompare(b.topic + '/' + b.group));
  }

  describeGroup(topic: string, group: string): GroupDescription {
    return describeGroup(this.existing(topic, group), this.deps.partitions(topic));
  }

  /** Moves every partition of a group to `to` (replay or skip); its members keep consuming from there. */
  async resetGroup(topic: string, group: string, to: StartPosition): Promise<bigint[]> {
    this.existing(topic, group);
    const logs = this.deps.partitions(topic);
    const target = checkStartPosition(to, 'to');
    const found = await Promise.all(logs.map((log) => startOffsetFor(log, target)));
    // Retention may have run while they were found (a timestamp reads the log): a group restarted
    // below startOffset would count the records deleted before the reset as lost once more.
    const offsets = found.map((offset, partition) => (offset < logs[partition]!.startOffset ? logs[partition]!.startOffset : offset));
    // The group as it is now: one deleted meanwhile fails the reset as a reset made after it would.
    await this.existing(topic, group).resetTo(offsets);
    return offsets;
  }

  /**
   * Removes a group without members: it leaves listGroups, describeGroup and /metrics at once,
   * its timers end (Group.close), then its directory goes, config.json first (the commit point:
   * GroupConfigFiles.remove). A join of the name made meanwhile waits for the delete and makes a
   * fresh group at its `from`; a second delete finds no group (UNKNOWN_GROUP).
   */
  async deleteGroup(topic: string, name: string): Promise<void> {
    if (name === REDRIVE_GROUP) throw new BrookError('INVALID_REQUEST', `group ${REDRIVE_GROUP} keeps redrive's progress: it goes with its topic`, { topic, group: name });
    const key = groupKey(topic, name);
    const group = this.groups.get(key);
    if ((group && group.members.length > 0) || this.joins.has(key)) {
      throw new BrookError('GROUP_NOT_EMPTY', `group ${name} on ${topic} has members: it can be deleted once they have left`, {
        topic, group: name, members: group?.members.length ?? 0,
      });
    }
    const found = this.existing(topic, name);
    this.groups.delete(key);
    const deleting = (async () => {
      await found.close(new BrookError('UNKNOWN_GROUP', `group ${name} on ${topic} was deleted`, { topic, group: name }));
      // The event comes at the commit point: a delete failing before it leaves the group as it
      // was (a subscribe finds it again); one failing after it has deleted the group all the same.
      await this.configs.remove(topic, name, () => {
        if (this.deps.events.wants('groupDeleted')) this.deps.events.emit('groupDeleted', { topic, group: name });
      });
    })();
    this.deleting.set(key, deleting);
    try {
      await deleting;
    } finally {
      this.deleting.delete(key);
    }
  }

  /**
   * Moves dead-lettered records back to the topics they came from (origin headers), oldest first,
   * each once, even across restarts and concurrent calls (redrive.ts).
   */
  async redrive(deadLetterTopic: string, options: { maxRecords?: number } = {}): Promise<RedriveResult> {
    checkOptionKeys(options, REDRIVE_OPTION_KEYS);
    const { maxRecords } = options;
    if (maxRecords !== undefined && !(Number.isSafeInteger(maxRecords) && maxRecords >= 1)) {
      throw new BrookError('INVALID_REQUEST', `maxRecords must be a positive integer, got ${String(maxRecords)}`, { field: 'maxRecords', value: maxRecords });
    }
    return this.redriver.redrive(deadLetterTopic, maxRecords ?? Number.MAX_SAFE_INTEGER);
  }

  /** The handle for a joined member or reader; `onEnd` runs when its consumer ends it. */
  subscription(options: SubscribeOptions, joined: Joined, onEnd?: () => void): Subscription {
    const end = subscriptionEnding();
    const unregister = this.live.add(options.topic, end.byBroker);
    const leave = async (graceful: boolean): Promise<void> => {
      unregister();
      onEnd?.();
      try {
        if (joined.kind === 'reader') this.leaveReader(joined.reader);
        else if (graceful) await joined.group.drainAndLeave(joined.member);
        else joined.group.leave(joined.member);
      } finally {
        end.byConsumer();
      }
    };
    return {
      topic: options.topic,
      group: options.group,
      memberId: joined.kind === 'member' ? joined.member.id : undefined,
      close: () => leave(true),
      abort: () => void leave(false),
      [Symbol.asyncDispose]: () => leave(true),
      ended: end.ended,
    };
  }

  /** The async-iterator form (messageStream): joins when created. */
  stream(options: SubscribeOptions, queue: DeliveryQueue, joining: Promise<Joined>): MessageStream {
    return messageStream(options, this.live, queue, joining, (joined, onEnd) => this.subscription(options, joined, onEnd));
  }

  /**
   * deleteTopic: ends the topic's readers and members and forgets its groups, once the joins
   * opening a group of it have opened it (so none is left behind). Their files go later, with
   * removeGroupsOf, once the topic's own deletion is durable. The groups already open are
   * forgotten at once: the topic is gone, so listGroups must not list a group that
   * describeGroup refuses (a /metrics scrape meanwhile would fail).
   */
  async dropTopic(topic: string): Promise<void> {
    const ending = deletedTopicError(topic);
    this.live.end(topic, ending);
    for (const reader of this.readers) if (reader.topic === topic) this.leaveReader(reader);
    const dropped = this.forgetGroupsOf(topic);
    // A group delete under way removes files in the topic's group directory, which goes next.
    const underWay = [...this.opening, ...this.deleting].filter(([key]) => key.startsWith(groupKey(topic, '')));
    await Promise.allSettled(underWay.map(([, pending]) => pending));
    dropped.push(...this.forgetGroupsOf(topic));
    await Promise.all(dropped.map((group) => group.close(ending)));
  }

  private forgetGroupsOf(topic: string): Group[] {
    const forgotten = [...this.groups].filter(([, group]) => group.topic === topic);
    for (const [key] of forgotten) this.groups.delete(key);
    return forgotten.map(([, group]) => group);
  }

  /**
   * Removes the group directories of a topic that does not exist, durably: after a delete, and
   * before a create, since an interrupted or failed delete can leave them, and a group of the
   * new topic must not find the old one's position.
   */
  async removeGroupsOf(topic: string): Promise<void> {
    const root = `${this.deps.dataDir}/groups`;
    if (!(await this.deps.fs.exists(`${root}/${topic}`))) return;
    await this.deps.fs.rmdir(`${root}/${topic}`);
    await this.deps.fs.syncDir(root);
  }

  async close(): Promise<void> {
    const ending = new BrookError('CLOSED', 'broker is closed');
    this.live.end(undefined, ending);
    await Promise.allSettled(this.deleting.values()); // its files go before the clean-shutdown marker is written
    this.deadlines.clear();
    for (const reader of this.readers) reader.closed = true;
    await Promise.all([...this.groups.values()].map((group) => group.close(ending)));
  }

  /** Copies a record of `group` to `deadLetterTopic` (created on first use). */
  private async deadLetter(entry: Entry, group: GroupAttempts, deadLetterTopic: string, deliveryCount: number, reason: string): Promise<bigint> {
    await this.deps.ensureTopic(deadLetterTopic);
    const record = deadLetterRecord.build(entry.record, {
      topic: group.topic, partition: entry.partition, offset: entry.offset, group: group.name, deliveryCount, reason,
    });
    const [result] = await this.deps.produce(deadLetterTopic, [record]);
    return result!.offset;
  }

  /** The group, opened from disk or created at `config.from` on first use. */
  private group(topic: string, name: string, config: GroupConfig): Promise<Group> {
    const key = groupKey(topic, name);
    const existing = this.groups.get(key);
    if (existing) return Promise.resolve(existing);
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
    const logs = this.deps.partitions(topic);
    const dir = `${this.deps.dataDir}/groups/${topic}/${name}`;
    // What a failed delete or an interrupted create left is no group: this one starts at `from`.
    await this.configs.removeUncommitted(topic, name);
    const { journal, states, created } = await GroupJournal.open(
      this.deps.fs, dir, this.deps.journalLogOptions, this.deps.journalBytesMax,
      () => Promise.all(logs.map((log) => startOffsetFor(log, config.from))),
    );
    if (created) await this.configs.write(topic, name, config);
    const windows = states.map((state, partition) => new PartitionWindow(partition, state));
    await forgetAcksPastLogEnd(journal, windows, logs);
    const group = new Group(topic, name, config, journal, windows, this.context(logs));
    this.groups.set(key, group);
    return group;
  }

  private existing(topic: string, group: string): Group {
    const found = this.groups.get(groupKey(topic, group));
    if (!found) throw new BrookError('UNKNOWN_GROUP', `no group ${JSON.stringify(group)} on topic ${JSON.stringify(topic)}`, { topic, group });
    return found;
  }

  private context(logs: readonly PartitionLog[]): GroupContext {
    return {
      clock: this.deps.clock, random: this.deps.random, deadlines: this.deadlines, events: this.deps.events, logs,
      unackedRecordsMax: this.deps.unackedRecordsMax, fetchBytes: this.deps.fetchBytes,
      deadLetter: (entry, group, deadLetterTopic, deliveryCount, reason) => this.deadLetter(entry, group, deadLetterTopic, deliveryCount, reason),
    };
  }
}


/**
 * After an unclean stop with fsync other than 'always', a partition log can come back shorter
 * than what its group journal (a separate file) remembers acking. New records will take those
 * offsets again and must not count as acked: the partition restarts at min(ackFloor, endOffset),
 * so the records between are delivered again (at-least-once) and none is ever skipped.
 */
async function forgetAcksPastLogEnd(journal: GroupJournal, windows: readonly PartitionWindow[], logs: readonly PartitionLog[]): Promise<void> {
  for (const window of windows) {
    const endOffset = logs[window.partition]!.endOffset;
    if (window.ack.ackedEnd <= endOffset) continue;
    const restartAt = window.ack.ackFloor < endOffset ? window.ack.ackFloor : endOffset;
    window.restartAt(restartAt);
    await journal.reset(window.partition, restartAt);
  }
}

/** Offset where a reader or a new group starts, clamped to what the log holds. */
export async function startOffsetFor(log: PartitionLog, from: StartPosition): Promise<bigint> {
  if (from === 'earliest') return log.startOffset;
  if (from === 'latest') return log.endOffset;
  if ('offset' in from) return from.offset < log.startOffset ? log.startOffset : from.offset > log.endOffset ? log.endOffset : from.offset;
  return log.offsetForTimestamp(from.timestamp);
}

function groupKey(topic: string, group: string): string {
  return `${topic}\u0000${group}`;
}

function deletedTopicError(topic: string): BrookError {
  return new BrookError('UNKNOWN_TOPIC', `topic ${topic} was deleted`, { topic });
}
