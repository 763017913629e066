/**
 * The in-process broker: topics of partitioned segment logs behind `produce` and `fetch`.
 *
 * It owns the data directory (data-dir.ts: its lock and clean-shutdown marker). At open it takes
 * the marker away, then opens every topic, letting each partition log recover. At close it
 * closes every log (fsync + index files) and only then writes the marker.
 */
import {
  handlerRefusal, SeededRandom, checkFetchRequest, checkOffsetForTimestamp, checkPartitionField, checkStringFields, topicOfGroup,
  type Clock, type FileSystem, type FramePeer, type FrameSession, type GroupDescription, type Random, type RecordHeader,
  type SessionHost, type TopicDescription,
} from '@brook/protocol';
import { LIMITS, checkFsyncPolicy, type FsyncPolicy } from './config/defaults.js';
import {
  logDefaultsFor, partitionDir, type Topic, type CreateTopicOptions, type LogDefaults, type PartitionFailureListener,
} from './topics/topic.js';
import { TopicRegistry } from './topics/topic-registry.js';
import { topicCreation, topicRemoval, type TopicLifecycle } from './topics/topic-lifecycle.js';
import { RetentionRunner, batchBytesFit, type RetentionDrop } from './topics/retention-runner.js';
import type { ProduceRecord } from './topics/record-input.js';
import { BrokerEventEmitter } from './events.js';
import { DataDir } from './data-dir.js';
import { resolveBrokerLimits, resolveStorage, type BrokerLimits, type BrokerOptions } from './config/broker-options.js';
import { GroupCoordinator } from './groups/group-coordinator.js';
import { groupJournalLimits } from './groups/coordinator-deps.js';
import { handlerSink, type Handler, type MessageStream, type Subscription } from './groups/subscription.js';
import { checkSubscribeOptionKeys, type StartPosition, type SubscribeOptions } from './groups/subscribe-options.js';
import { produceClientBatch, produceCopies, produceRecords, type BatchProduceContext } from './topics/produce.js';
import { copyBatchBytesMax } from './groups/dead-letter.js';
import { Producers, type PartitionTarget } from './producers/producers.js';
import type { InitProducerRequest, ProducerIdentity } from './producers/producer-registry.js';
import type { DeliverySink } from './groups/member.js';
import { sinkControl, type AttachedSubscription } from './groups/sink-control.js';
import type { RedriveOptions, RedriveResult } from './groups/redrive.js';
import type { ListenOptions } from './config/server-options.js';
import { SessionHub } from './server/session-hub.js';
import type { BrookServer } from './server/ws-server.js';
import { fetchRecords } from './topics/fetch.js';
import { closeInOrder, openContents, type BrokerParts } from './broker-contents.js';
import { brokerClosedError } from './ending-errors.js';
import { failedLogs, partitionFailureEvents, type FailedLog } from './failed-logs.js';
import type { FetchRequest, FetchedRecord, ProduceBatchRequest, ProduceBatchResult, ProduceResult } from './topics/requests.js';

export type { FetchRequest, FetchedRecord, ProduceBatchRequest, ProduceBatchResult, ProduceResult };

export class Broker extends BrokerEventEmitter implements SessionHost {
  readonly dataDir: string;
  readonly fsync: FsyncPolicy;
  /** True if the last run ended with close() (its marker was found): no tail scan was needed. */
  readonly openedClean: boolean;
  private readonly topics = new TopicRegistry();
  private readonly retention: RetentionRunner;
  private readonly producing: BatchProduceContext = {
    now: () => this.clock.now(),
    appendWithRoom: (topic, batches) => this.retention.appendWithRoom(topic, batches),
    appended: (topic, partition, baseOffset, lastOffset) => this.appended(topic, partition, baseOffset, lastOffset),
    failure: (topic, error) => this.topics.failure(topic, error),
    appendBatch: (target, header, bytes, incarnation, admit) => this.producers.append(target, header, bytes, incarnation, admit),
    makeRoom: (topic, partition, bytes) => this.retention.makeRoomInTurn(topic, partition, bytes),
    batchTarget: (request) => {
      this.assertOpen();
      checkPartitionField(request.partition);
      const topic = this.topic(request.topic);
      return { topic, target: this.partitionTarget(topic, request.partition) };
    },
  };
  /** A partition log failed: the logFailed event, at once (failed-logs.ts). */
  private readonly partitionFailed: PartitionFailureListener = partitionFailureEvents(this);
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly groups: GroupCoordinator;
  private readonly producers: Producers;
  private readonly sessions: SessionHub;
  private readonly lifecycle: TopicLifecycle;

  private constructor(
    fs: FileSystem,
    private readonly clock: Clock,
    logDefaults: LogDefaults,
    private readonly limits: BrokerLimits,
    private readonly dir: DataDir,
    random: Random,
  ) {
    super();
    this.dataDir = dir.path;
    this.fsync = logDefaults.fsync;
    this.openedClean = dir.cleanShutdown;
    this.producers = new Producers({
      fs, clock, random, dataDir: dir.path, appendsDurable: logDefaults.fsync === 'always',
      producersPerPartitionMax: limits.producersPerPartitionMax, producerSnapshotIntervalMs: limits.producerSnapshotIntervalMs,
    });
    this.groups = new GroupCoordinator({
      fs, dataDir: dir.path, clock, random, events: this, ...groupJournalLimits(logDefaults, limits),
      partitions: (topic) => this.topic(topic).partitions, topicExists: (topic) => this.topics.has(topic),
      produce: (topic, records) => this.appendCopies(topic, records),
      // Dead-letter topics: created with default settings on first use.
      ensureTopic: (topic) => this.topics.ensure(topic, () => this.createTopic(topic)),
      copyLimits: (topic) => ({ batchRecordsMax: limits.batchRecordsMax, batchBytesMax: batchBytesFit(this.topics.find(topic), limits.batchBytesMax) }),
    });
    this.lifecycle = {
      fs, groups: this.groups, producers: this.producers, logDefaults, limits, partitionFailed: this.partitionFailed, topicDir: (name) => this.topicDir(name),
    };
    this.sessions = new SessionHub(this, clock, { batchRecordsMax: limits.batchRecordsMax, batchBytesMax: limits.batchBytesMax, timestampAheadMsMax: limits.timestampAheadMsMax });
    this.retention = new RetentionRunner(this.topics, this.groups, this, clock, limits.retentionCheckIntervalMs);
  }

  static async open(options: BrokerOptions = {}): Promise<Broker> {
    const { fs, clock, dataDir, lock } = resolveStorage(options);
    const limits = resolveBrokerLimits(options);
    const dir = await DataDir.open(fs, dataDir, lock);
    try {
      return await Broker.openIn(dir, options, fs, clock, limits);
    } catch (error) {
      await dir.abandon();
      throw error;
    }
  }

  private static async openIn(
    dir: DataDir, options: BrokerOptions, fs: FileSystem, clock: Clock, limits: BrokerLimits,
  ): Promise<Broker> {
    const logDefaults = logDefaultsFor({ fs, clock, fsync: checkFsyncPolicy(options.fsync), dir, limits });
    const random = options.random ?? new SeededRandom(options.seed ?? 1);
    const broker = new Broker(fs, clock, logDefaults, limits, dir, random);
    await openContents(broker.parts(), fs, logDefaults, broker.partitionFailed, (topic, partition) => broker.partitionTarget(topic, partition));
    broker.retention.arm();
    return broker;
  }

  async createTopic(name: string, options: CreateTopicOptions = {}): Promise<void> {
    this.assertOpen();
    const topic = await this.topics.create(name, topicCreation(this.lifecycle, name, options));
    this.retention.arm();
    if (this.wants('topicCreated')) this.emit('topicCreated', { topic: name, partitions: topic.partitions.length });
  }

  /**
   * Deletes a topic and everything about it: its subscriptions end (END UNKNOWN_TOPIC over the
   * wire), its groups and producer state are forgotten, and its directory and its groups' are
   * removed durably; its groups' dead-letter topics stay. Removing topic.json commits, before
   * anything else is touched: a delete failing before it changes nothing (IO_ERROR, retriable);
   * after it the topic is gone for good, and open removes whatever a failure or crash left
   * (topics/topic-lifecycle.ts).
   */
  async deleteTopic(name: string): Promise<void> {
    this.assertOpen();
    const { commit, removeRest } = topicRemoval(this.lifecycle, name);
    // Only past the commit point (a delete that fails before it changed nothing), and after the
    // groups' groupDeleted, which removeRest's first step emits.
    const removeRestThenTell = (topic: Topic) => removeRest(topic).finally(() => {
      if (this.wants('topicDeleted')) this.emit('topicDeleted', { topic: name });
    });
    await this.topics.delete(name, commit, removeRestThenTell);
  }

  // Admin reads, like every other call, throw CLOSED once close() began.
  listTopics(): string[] {
    this.assertOpen();
    return this.topics.names();
  }

  describeTopic(name: string): TopicDescription {
    this.assertOpen();
    const topic = this.topic(name, 'name');
    return topic.describe((partition) => this.producers.snapshotFailure(this.partitionTarget(topic, partition).dir));
  }

  /**
   * The logs that refuse writes until the broker is reopened (a failed fsync, seal or torn write):
   * topic partitions, as describeTopic's `failure` shows them, and group journals. /healthz
   * answers 503 while there is one.
   */
  failedLogs(): FailedLog[] {
    this.assertOpen();
    return failedLogs(this.topics.names().map((name) => this.topics.get(name)), this.groups);
  }

  /**
   * Appends records, one batch per partition they map to (explicit `partition`, else murmur2 of
   * the key like Kafka's default partitioner, else round-robin). Resolves, in input order, with
   * each record's partition and offset once every batch is persisted per the fsync policy.
   */
  async produce(topic: string, records: readonly ProduceRecord[]): Promise<ProduceResult[]> {
    this.assertOpen();
    return produceRecords(this.producing, this.topic(topic), records, this.limits, this.limits.timestampAheadMsMax);
  }

  /**
   * A dead-letter copy or a redrive's copy back, durable when it resolves (fsynced whatever the
   * policy: the ack that finishes the move must not outlive it). A copy is its record plus bounded
   * trailers: it is held to the batch limit plus those (copyBatchBytesMax), so a record taken at
   * the limit can always be given up on, again and again (redrive's copies back, a trailer cut
   * off, fit as the records did).
   */
  private async appendCopies(topicName: string, records: readonly ProduceRecord[]): Promise<ProduceResult[]> {
    this.assertOpen();
    const limits = { ...this.limits, batchBytesMax: copyBatchBytesMax(this.limits.batchBytesMax, records) };
    return produceCopies(this.producing, this.topic(topicName), records, limits, this.fsync === 'always');
  }

  /** Records at offsets >= `offset`, oldest first, at most maxRecords / about maxBytes. */
  async fetch(request: FetchRequest): Promise<FetchedRecord[]> {
    this.assertOpen();
    checkFetchRequest(request);
    const topic = this.topic(request.topic);
    return fetchRecords(topic.partition(request.partition), request, this.limits, (error) => this.topics.failure(topic, error));
  }

  /**
   * The first offset in a partition whose record timestamp is >= `timestampMs` (endOffset if none).
   * The arguments are checked first, as fetch's are and as the client checks them (checkOffsetForTimestamp).
   */
  async offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<bigint> {
    this.assertOpen();
    checkOffsetForTimestamp(topic, partition, timestampMs);
    return this.topic(topic).partition(partition).offsetForTimestamp(timestampMs);
  }

  /** Runs retention on every partition now (it also runs every retentionCheckIntervalMs). */
  enforceRetention(): Promise<RetentionDrop[]> {
    return this.retention.enforce();
  }

  // ---- idempotent producers (producers/) ----

  /**
   * A new producer id at epoch 0; or, with `producerId`, that id at its current epoch (a producer
   * resuming after a crash resends its batches with their original epoch and sequences), or at the
   * next epoch with `bumpEpoch: true`, which fences every instance still on an older one.
   */
  initProducer(request?: InitProducerRequest): Promise<ProducerIdentity> {
    this.assertOpen();
    return this.producers.initProducer(request);
  }

  /**
   * Names this data directory: producer ids are unique only within one incarnation (a fresh data
   * directory issues them again from 0). Announced in WELCOME and in every initProducer answer.
   */
  get incarnation(): string {
    return this.producers.incarnation;
  }

  /**
   * Appends one client-encoded batch, checked in full first (topics/batch-input.ts). A batch with
   * producerId >= 0 goes through the partition's idempotence table: a retry of a recent batch is
   * answered with the original's offsets and `duplicate: true`; a gap in its sequence is
   * OUT_OF_ORDER_SEQUENCE, an old epoch PRODUCER_FENCED. producerId -1 is simply appended.
   */
  produceBatch(request: ProduceBatchRequest): Promise<ProduceBatchResult> {
    return produceClientBatch(this.producing, request, this.limits);
  }

  // ---- consumer groups (groups/) ----

  /** Joins `handler` to a group (or, without `group`, reads the tail). Resolve = ack, throw = nack. */
  subscribe(options: SubscribeOptions, handler: Handler): Promise<Subscription> {
    // A rejection, as attach's own refusals are, without a step more before the join begins.
    const refused = handlerRefusal(handler);
    if (refused) return Promise.reject(refused);
    return this.attach(options, handlerSink(handler));
  }

  /**
   * subscribe with a raw sink: the engine calls `sink` synchronously with each delivery, and
   * whoever holds the sink settles it (the wire server buffers them into DELIVER frames), and
   * tells the engine what it could not send yet (SinkControl).
   */
  async attach(options: SubscribeOptions, sink: DeliverySink): Promise<AttachedSubscription> {
    this.assertOpen();
    const joined = await this.groups.join(options, sink);
    const ackTimeoutMs = joined.kind === 'member' ? joined.group.config.ackTimeoutMs : undefined;
    return Object.assign(this.groups.subscription(options, joined), sinkControl(joined), { ackTimeoutMs });
  }

  /** `for await (const msg of broker.consume(...)) await msg.ack()`. A misspelled option throws here, as in the client. */
  consume(options: SubscribeOptions): MessageStream {
    checkSubscribeOptionKeys(options);
    return this.groups.stream(options, this.closed);
  }

  listGroups(topic?: string): { topic: string; group: string }[] {
    this.assertOpen();
    checkStringFields({ topic }, true);
    if (topic !== undefined) this.topic(topic);
    return this.groups.listGroups(topic);
  }

  /**
   * The group's state. `describeGroup(group)` alone describes the group of that name on whichever
   * topic has it (topicOfGroup: UNKNOWN_GROUP if none, INVALID_REQUEST if several do).
   */
  describeGroup(group: string): GroupDescription;
  describeGroup(topic: string, group: string): GroupDescription;
  describeGroup(...args: [group: string] | [topic: string, group: string]): GroupDescription {
    const [topic, group] = args.length === 1 ? [topicOfGroup(this.listGroups(), args[0]), args[0]] : args;
    this.checkGroupCall(topic, group);
    return this.groups.describeGroup(topic, group);
  }

  /** Replay (or skip): the group continues from `to` on every partition. Returns the new positions. */
  async resetGroup(topic: string, group: string, to: StartPosition): Promise<bigint[]> {
    this.checkGroupCall(topic, group);
    return this.groups.resetGroup(topic, group, to);
  }

  /** Removes a group and its progress; GROUP_NOT_EMPTY while it has members (GroupCoordinator.deleteGroup). */
  async deleteGroup(topic: string, group: string): Promise<void> {
    this.checkGroupCall(topic, group);
    await this.groups.deleteGroup(topic, group);
  }

  /** Moves dead-lettered records back to their origin topics; returns how many moved and how many could not. */
  async redrive(deadLetterTopic: string, options: RedriveOptions = {}): Promise<RedriveResult> {
    this.assertOpen();
    const topic = this.topic(deadLetterTopic, 'deadLetterTopic');
    // Deleted while it reads (its logs and redrive group closed under it): UNKNOWN_TOPIC, as a produce.
    return this.groups.redrive(deadLetterTopic, options).catch((error: unknown) => {
      throw this.topics.failure(topic, error);
    });
  }

  // ---- the wire protocol (server/) ----

  /** A session speaking the wire protocol's frames in process (`connect(broker)`); no token. */
  openSession(peer: FramePeer, info: { remote: string }): FrameSession {
    this.assertOpen();
    return this.sessions.open(peer, info.remote);
  }

  /** Serves the wire protocol, /healthz and /metrics on one port (docs/protocol.md). */
  listen(options: ListenOptions = {}): Promise<BrookServer> {
    this.assertOpen();
    return this.sessions.listen(options);
  }

  /**
   * Clean shutdown: listeners and sessions first (clients get END and 1001), then every log
   * fsynced and indexed, then the marker that lets the next open skip recovery scans.
   */
  close(): Promise<void> {
    // A second call settles with the first, once the broker is closed (marker written, lock released).
    return (this.closing ??= this.closeOnce());
  }

  /** `await using broker = await Broker.open(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async closeOnce(): Promise<void> {
    this.closed = true;
    // A listener that throws must not leave the broker open for good (files, lock): closed, it rejects with that.
    try {
      if (this.wants('closing')) this.emit('closing', { dataDir: this.dataDir });
    } finally {
      await closeInOrder(this.parts());
    }
  }

  /** What open opens and close() closes, in their order (broker-contents.ts). */
  private parts(): BrokerParts {
    const { topics, sessions, retention, groups, producers, dir } = this;
    return { topics, sessions, retention, groups, producers, dir };
  }

  private appended(topic: string, partition: number, baseOffset: bigint, lastOffset: bigint): void {
    if (this.wants('produced')) this.emit('produced', { topic, partition, baseOffset, lastOffset, records: Number(lastOffset - baseOffset) + 1 });
    this.groups.notifyAppended(topic);
    this.producers.logMoved();
  }

  /** An admin call on a group: the broker open, both names strings, the topic there. */
  private checkGroupCall(topic: string, group: string): void {
    this.assertOpen();
    checkStringFields({ topic, group });
    this.topic(topic);
  }

  /** The topic named by argument `field`: INVALID_REQUEST naming it if it is not a string, else UNKNOWN_TOPIC if there is none. */
  private topic(name: string, field = 'topic'): Topic {
    checkStringFields({ [field]: name });
    return this.topics.get(name);
  }

  /** A partition as producer state knows it: its log and its directory. */
  private partitionTarget(topic: Topic, partition: number): PartitionTarget {
    return { log: topic.partition(partition), dir: partitionDir(this.topicDir(topic.name), partition) };
  }

  private topicDir(name: string): string {
    return `${this.dataDir}/topics/${name}`;
  }

  private assertOpen(): void {
    if (this.closed) throw brokerClosedError();
  }
}

export type { BrokerOptions, ProduceRecord, RecordHeader };
export { LIMITS };
