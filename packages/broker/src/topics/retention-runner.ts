/**
 * Retention for every topic of a broker: the periodic run, the run on demand, and the room check
 * of `discard: 'new'` topics (backpressure) before a produce. Groups take part: they decide what
 * a 'new' topic may delete (what every group consumed), and they are told when retention overtook
 * them.
 */
import { BrookError, isBrookError, type Clock, type Timer } from '@brook/protocol';
import type { BrokerEventEmitter } from '../events.js';
import type { GroupCoordinator } from '../groups/group-coordinator.js';
import type { AppendResult, PartitionLog } from '../log/partition-log.js';
import type { Admission } from '../producers/append-group.js';
import type { Topic } from './topic.js';
import type { TopicRegistry } from './topic-registry.js';

export interface RetentionDrop {
  readonly topic: string;
  readonly partition: number;
  readonly droppedRecords: bigint;
  readonly startOffset: bigint;
}

export class RetentionRunner {
  private timer: Timer | undefined;
  private stopped = false;
  /** discard 'new' partitions: the turn of the last append queued, for `appendWithRoom`'s call order. */
  private readonly turns = new Map<string, Promise<unknown>>();
  /**
   * discard 'new' logs: bytes of batches admitted but not yet in the log's queue (a wire batch
   * between its check and its idempotence lane's append). Keyed by log, not name: a topic deleted
   * and created again starts with nothing held.
   */
  private readonly admitted = new Map<PartitionLog, number>();

  constructor(
    private readonly topics: Pick<TopicRegistry, 'values' | 'failure'>,
    private readonly groups: GroupCoordinator,
    private readonly events: BrokerEventEmitter,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /**
   * Runs retention on every partition now. A topic deleted while the pass runs (its logs closed
   * under it) has nothing left to retain: the pass goes on with the others rather than fail. So
   * it does past a partition it failed to retain (an I/O error deleting a file): the other
   * partitions and topics are retained all the same, and the pass then rejects with the first
   * such failure. Stopping there left every topic after it unretained, at every pass.
   */
  async enforce(): Promise<RetentionDrop[]> {
    const dropped: RetentionDrop[] = [];
    let firstFailure: unknown;
    for (const topic of this.topics.values()) {
      for (const partition of topic.partitions.keys()) {
        try {
          const droppedRecords = await this.retainPartition(topic, partition);
          if (droppedRecords > 0n) dropped.push({ topic: topic.name, partition, droppedRecords, startOffset: topic.partition(partition).startOffset });
        } catch (error) {
          const failure = this.topics.failure(topic, error);
          if (isBrookError(failure, 'UNKNOWN_TOPIC')) break;
          firstFailure ??= failure;
        }
      }
    }
    if (firstFailure !== undefined) throw firstFailure;
    return dropped;
  }

  /**
   * Runs retention every intervalMs while some topic has a policy. A broker whose topics keep
   * everything has no timer at all, so a VirtualClock can run it until idle. Call again after a
   * topic is created.
   */
  arm(): void {
    if (this.timer || this.stopped) return;
    const needed = [...this.topics.values()].some(({ config: { retention } }) => retention.maxBytes !== undefined || retention.maxAgeMs !== undefined);
    if (!needed) return;
    this.timer = this.clock.setTimer(this.intervalMs, () => {
      this.enforce().catch(() => undefined).finally(() => {
        this.timer = undefined;
        this.arm();
      });
    });
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /**
   * Appends a produce's batches (one per partition) once there is room for all of them
   * (`makeRoom`), and in call order: a produce never overtakes an earlier one to the same
   * partition, so records produced without waiting in between keep their order. Without discard
   * 'new' there is nothing to wait for and the logs queue the batches at once; with it, each call
   * waits for the room checks of the calls before it on its partitions (not for their writes:
   * group commit still takes them together), and one batch refused with TOPIC_FULL refuses them
   * all, so a refused produce appends nothing that a retry would append twice. Returns each
   * batch's append, in the order given.
   */
  appendWithRoom(topic: Topic, batches: readonly { partition: number; batch: Uint8Array }[]): Promise<AppendResult>[] {
    const maxBytes = roomBytesMax(topic);
    if (maxBytes === undefined) return batches.map(({ partition, batch }) => topic.partition(partition).append(batch));
    const turn = this.inTurn(topic, batches.map(({ partition }) => partition), async () => {
      // Every batch that could never fit first: a produce refused TOPIC_FULL on an earlier
      // partition would be retried, for good, when it can never be taken (MESSAGE_TOO_LARGE).
      for (const { partition, batch } of batches) checkCanEverFit(topic, partition, batch.length, maxBytes);
      const admissions: Admission[] = [];
      try {
        for (const { partition, batch } of batches) admissions.push(await this.makeRoom(topic, partition, batch.length, maxBytes));
        // Wrapped, so the next turn waits for this one's place in the logs' queues, not its writes.
        return { appending: batches.map(({ partition, batch }) => topic.partition(partition).append(batch)) };
      } finally {
        // Queued (the logs count them from now on), or refused whole: their room is not held any more.
        for (const admission of admissions) admission.release();
      }
    });
    return batches.map((_, i) => turn.then(({ appending }) => appending[i]!));
  }

  /**
   * makeRoom in its turn on the partition, for a batch whose append its caller queues after it
   * resolves (produceBatch: the idempotence lane appends once its admissions are in). Checks of
   * the wire and of broker.produce thus go one after the other too: a check that is deleting
   * segments to make room is not overtaken by a later one that takes the room it made. The room
   * stays held for the batch until the caller releases the admission: once the batch is in the
   * log's queue, or once it will never be (a fenced epoch, a sequence gap). A retry of a batch the
   * partition has or is appending takes none: it appends nothing (AppendGroup.admit).
   */
  makeRoomInTurn(topic: Topic, partition: number, bytes: number): Promise<Admission> {
    const maxBytes = roomBytesMax(topic);
    if (maxBytes === undefined) return Promise.resolve(NOTHING_HELD);
    return this.inTurn(topic, [partition], async () => {
      checkCanEverFit(topic, partition, bytes, maxBytes);
      return this.makeRoom(topic, partition, bytes, maxBytes);
    });
  }

  /** Runs `task` once the turns queued before it on `partitions` are done; its own turn ends when it settles. */
  private inTurn<T>(topic: Topic, partitions: readonly number[], task: () => Promise<T>): Promise<T> {
    const keys = partitions.map((partition) => `${topic.name}/${partition}`);
    // Turns are taken in call order on every partition at once, so no two calls wait for each other.
    const before = keys.map((key) => this.turns.get(key));
    const turn = Promise.all(before).then(task);
    const done = turn.then(() => undefined, () => undefined);
    for (const key of keys) this.turns.set(key, done);
    void done.then(() => {
      for (const key of keys) if (this.turns.get(key) === done) this.turns.delete(key);
    });
    return turn;
  }

  /**
   * discard 'new': refuse a batch that would take the partition past maxBytes with TOPIC_FULL,
   * after first freeing what every group has consumed; else hold its room until the admission is
   * released. The bytes counted are the log's (sizeBytes, what describeTopic shows) and those on
   * their way into it: queued or being written (the log's unwrittenBytes), and admitted but not
   * yet queued (held here). So batches in flight together never take the partition past maxBytes.
   */
  private async makeRoom(topic: Topic, partition: number, bytes: number, maxBytes: number): Promise<Admission> {
    const log = topic.partition(partition);
    const inFlight = () => log.unwrittenBytes + (this.admitted.get(log) ?? 0);
    const fits = () => log.sizeBytes + inFlight() + bytes <= maxBytes;
    if (!fits()) await this.retainPartition(topic, partition, 'forRoom');
    const consumedBelow = this.groups.consumedBelow(topic.name, partition);
    if (!fits() && consumedBelow !== undefined && consumedBelow >= log.endOffset) {
      // What is left is the active segment, all of it consumed: seal it so that it can go too.
      await log.sealActive();
      await this.retainPartition(topic, partition, 'forRoom');
    }
    if (!fits()) {
      throw new BrookError('TOPIC_FULL', `${topic.name}/${partition} holds ${log.sizeBytes} of ${maxBytes} bytes, with ${inFlight()} more on their way in; a batch of ${bytes} does not fit until consumers catch up`, {
        topic: topic.name, partition, sizeBytes: log.sizeBytes, inFlightBytes: inFlight(), maxBytes, batchBytes: bytes,
      });
    }
    return this.hold(log, bytes);
  }

  /** Holds `bytes` of `log`'s room until the admission is released (once: its holder's job). */
  private hold(log: PartitionLog, bytes: number): Admission {
    this.admitted.set(log, (this.admitted.get(log) ?? 0) + bytes);
    return {
      release: () => {
        const left = this.admitted.get(log)! - bytes;
        if (left === 0) this.admitted.delete(log);
        else this.admitted.set(log, left);
      },
    };
  }

  /**
   * Deletes what retention allows on one partition; tells groups it overtook. Returns records
   * dropped. When every record left is older than maxAgeMs, the active segment is sealed and goes
   * too (Kafka's rule): a partition that stopped receiving records empties instead of keeping its
   * last segment until an append rolls it. `forRoom`: a produce's room check (see below).
   */
  private async retainPartition(topic: Topic, partition: number, forRoom?: 'forRoom'): Promise<bigint> {
    const log = topic.partition(partition);
    const { retention } = topic.config;
    let failure: BrookError | undefined;
    const apply = async (): Promise<{ droppedRecords: bigint; startOffset: bigint }> => {
      // Each result counts its own call's deletions: another run on the partition may interleave.
      const result = await log.applyRetention(retention, this.groups.consumedBelow(topic.name, partition));
      failure ??= result.failure;
      return { droppedRecords: result.startOffset - result.previousStartOffset, startOffset: result.startOffset };
    };
    let { droppedRecords, startOffset } = await apply();
    // A failed log cannot seal its active segment (it refuses writes until it is reopened): its
    // sealed segments go, the active one waits for the reopen.
    if (!failure && !log.failed && log.expiredWhole(retention)) {
      await log.sealActive();
      const rest = await apply();
      droppedRecords += rest.droppedRecords;
      startOffset = rest.startOffset;
    }
    if (droppedRecords > 0n) {
      if (this.events.wants('retentionDropped')) {
        this.events.emit('retentionDropped', { topic: topic.name, partition, startOffset, lostRecords: droppedRecords });
      }
      const told = this.groups.retentionMoved(topic.name, partition, startOffset);
      // A group that cannot journal its loss has a failed journal: it refuses every write until a
      // reopen, and /healthz names it. The records are gone and the room is made all the same, so
      // a produce is not refused for it: one failed group would otherwise stop every producer of
      // the topic whenever maxAgeMs deletes records it had not consumed.
      await (forRoom ? told.catch(() => undefined) : told);
    }
    // Out of the log even so (a file left behind goes at the next pass): counted and told above.
    if (failure) throw failure;
    return droppedRecords;
  }
}

/** The admission of a batch no room was held for (no discard 'new'). */
const NOTHING_HELD: Admission = { release: () => undefined };

/** Under discard 'new', the bytes a partition of `topic` may hold (retention.maxBytes); else undefined: no room to check. */
function roomBytesMax(topic: Topic): number | undefined {
  const { discard, maxBytes } = topic.config.retention;
  return discard === 'new' ? maxBytes : undefined;
}

/** discard 'new': a batch over retention.maxBytes is MESSAGE_TOO_LARGE. */
function checkCanEverFit(topic: Topic, partition: number, bytes: number, maxBytes: number): void {
  if (bytes <= maxBytes) return;
  // Not TOPIC_FULL: that is retriable, and no amount of consuming makes this batch fit.
  throw new BrookError('MESSAGE_TOO_LARGE', `a batch of ${bytes} bytes can never fit ${topic.name}/${partition}, which holds at most retention.maxBytes ${maxBytes}`, {
    topic: topic.name, partition, maxBytes, batchBytes: bytes,
  });
}

/**
 * The largest batch `topic` can ever take within `batchBytesMax`: under discard 'new' also no more
 * than retention.maxBytes, past which makeRoom refuses a batch for good (MESSAGE_TOO_LARGE). A
 * writer that puts records together (dead-letter copies) keeps to it: copies that each fit must
 * not be refused, again and again, for being written together.
 */
export function batchBytesFit(topic: Topic | undefined, batchBytesMax: number): number {
  // A topic gone meanwhile: the broker's limit (the produce itself then says UNKNOWN_TOPIC).
  const maxBytes = topic && roomBytesMax(topic);
  return maxBytes === undefined ? batchBytesMax : Math.min(batchBytesMax, maxBytes);
}
