/**
 * Dead-letter copies, written together: the copies asked for while a copy to the same dead-letter
 * topic is being written wait, and go in the next write: a produce per dead-letter partition
 * (one batch and one fsync for all of its copies). A copy is fsynced before the record's ack is
 * journaled (produceCopies), so one produce and one flush a copy capped a consumer that gives up
 * on every record at ~30k records/s in memory and ~20k on disk (`bench:engine`, "dead-letter
 * copies"), the flushes being most of it. This is group commit, as the log's rounds do for
 * produce calls.
 *
 * Each write stays within the dead-letter topic's batch limits (CopyBatchRoom, CopyLimits), so a
 * write of several copies is never refused for its size where the copies alone would not be. A
 * produce that fails fails only the copies bound for its partition, as when each went alone;
 * each group tries its copy again later. One a full partition under discard 'new' refuses
 * (TOPIC_FULL) goes again a copy at a time, as far as there is room. Copies of one origin partition
 * keep the order they were asked for in their dead-letter partition (redrive gives them back in
 * that order); a copy refused holds up no copy of another origin partition or group.
 */
import { isBrookError, type LogRecord } from '@brook/protocol';
import type { ProduceRecord } from '../topics/record-input.js';
import { CopyBatchRoom, copySizeBytes, type CopyLimits } from './copy-batch.js';
import { deadLetterRecord, type DeadLetterOrigin, type DeadLetterTarget } from './dead-letter.js';

interface PendingCopy {
  readonly record: ProduceRecord;
  readonly origin: DeadLetterOrigin;
  readonly sizeBytes: number;
  readonly resolve: (offset: bigint) => void;
  readonly reject: (error: unknown) => void;
}

export class DeadLetterCopies {
  /** Per dead-letter topic, the copies waiting for the next write; a topic is here while it is being written. */
  private readonly waiting = new Map<string, PendingCopy[]>();

  constructor(
    private readonly target: DeadLetterTarget,
    /** Per dead-letter topic, read at each write. */
    private readonly limits: (deadLetterTopic: string) => CopyLimits,
  ) {}

  /**
   * Copies `record` to `deadLetterTopic` with its trailer; resolves with the copy's offset. The copy
   * goes to the dead-letter partition of its origin partition's number (modulo their count), not by
   * its key: redrive reads one dead-letter partition after another, so the records of one origin
   * partition (every record of a key among them) go back in the order they were given up on.
   */
  copy(deadLetterTopic: string, record: LogRecord, origin: DeadLetterOrigin): Promise<bigint> {
    // All in the executor: a throw there (build's asserts) rejects the promise, as it did when
    // this was an async function, rather than escaping the caller's catch.
    return new Promise((resolve, reject) => {
      const built = deadLetterRecord.build(record, origin);
      const pending: PendingCopy = { record: built, origin, sizeBytes: copySizeBytes(built), resolve, reject };
      const queue = this.waiting.get(deadLetterTopic);
      if (queue) {
        queue.push(pending);
        return;
      }
      this.waiting.set(deadLetterTopic, [pending]);
      void this.writeAll(deadLetterTopic);
    });
  }

  /** Writes the topic's waiting copies, a write at a time, until none waits. */
  private async writeAll(deadLetterTopic: string): Promise<void> {
    const queue = this.waiting.get(deadLetterTopic)!;
    while (queue.length > 0) {
      let byPartition: Map<number, PendingCopy[]>;
      try {
        // Before the copies are taken, so that those asked for meanwhile join this write.
        await this.target.ensureTopic(deadLetterTopic);
        const partitions = this.target.partitions(deadLetterTopic).length;
        byPartition = groupBy(queue.splice(0, copiesInOneWrite(queue, this.limits(deadLetterTopic))), (copy) => copy.origin.partition % partitions);
      } catch (error) {
        // Nothing was taken yet (the topic could not be created, or went): every copy waiting fails with it.
        for (const copy of queue.splice(0)) copy.reject(error);
        continue;
      }
      await Promise.all([...byPartition].map(([partition, copies]) => this.writePartition(deadLetterTopic, partition, copies)));
    }
    this.waiting.delete(deadLetterTopic);
  }

  /**
   * One produce of `copies` to `partition`: settles each copy, never rejects. A discard 'new'
   * partition may have room for some of them, not all: they then go a copy at a time, in order,
   * as far as there is room, as they would have alone (and as redrive's runs do). Otherwise copies
   * given up on together would retry together, every backoff.maxMs, and none would be made
   * until there was room for all.
   */
  private async writePartition(deadLetterTopic: string, partition: number, copies: readonly PendingCopy[]): Promise<void> {
    try {
      const results = await this.target.produce(deadLetterTopic, copies.map((copy) => ({ ...copy.record, partition })));
      for (let i = 0; i < copies.length; i++) copies[i]!.resolve(results[i]!.offset);
    } catch (error) {
      if (copies.length === 1 || !(isBrookError(error, 'TOPIC_FULL') || isBrookError(error, 'MESSAGE_TOO_LARGE'))) {
        for (const copy of copies) copy.reject(error);
        return;
      }
      await this.writeOneByOne(deadLetterTopic, partition, copies);
    }
  }

  /**
   * Each copy alone, in order, as far as there is room. One refused for want of room (TOPIC_FULL)
   * fails with the later copies of its origin partition, which keep their order behind it, and
   * with any copy at least as large (no room for it either: untried, one produce less each); one
   * refused for good (MESSAGE_TOO_LARGE) fails alone. The copies of other origins go on: a copy
   * that fits no more was holding up every copy behind it in the write, of any origin partition or
   * group, and as its group tried again after backoff.maxMs they came together again, for good
   * while nothing freed its room. Any other failure (a failed partition) fails every copy left.
   */
  private async writeOneByOne(deadLetterTopic: string, partition: number, copies: readonly PendingCopy[]): Promise<void> {
    // The origins of copies refused room, with the refusal; the smallest copy refused room.
    const held: { origin: DeadLetterOrigin; error: unknown }[] = [];
    let noRoom: { sizeBytes: number; error: unknown } | undefined;
    for (let i = 0; i < copies.length; i++) {
      const copy = copies[i]!;
      const behind = held.find(({ origin }) => sameOriginPartition(origin, copy.origin));
      const refusal = behind ?? (noRoom && copy.sizeBytes >= noRoom.sizeBytes ? noRoom : undefined);
      if (refusal) {
        if (!behind) held.push({ origin: copy.origin, error: refusal.error });
        copy.reject(refusal.error);
        continue;
      }
      try {
        const [result] = await this.target.produce(deadLetterTopic, [{ ...copy.record, partition }]);
        copy.resolve(result!.offset);
      } catch (error) {
        if (isBrookError(error, 'TOPIC_FULL')) {
          held.push({ origin: copy.origin, error });
          // Smaller than any refused before: a copy at least as large is not tried.
          noRoom = { sizeBytes: copy.sizeBytes, error };
        } else if (!isBrookError(error, 'MESSAGE_TOO_LARGE')) {
          for (const rest of copies.slice(i)) rest.reject(error);
          return;
        }
        copy.reject(error);
      }
    }
  }
}

/** The copies of one origin partition, given up on by one group, keep their order. */
function sameOriginPartition(a: DeadLetterOrigin, b: DeadLetterOrigin): boolean {
  return a.partition === b.partition && a.topic === b.topic && a.group === b.group;
}

/** `items` by `key`, each list in the order given. */
function groupBy<T>(items: readonly T[], key: (item: T) => number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** How many of the oldest waiting copies one write takes: at least one. */
function copiesInOneWrite(queue: readonly PendingCopy[], limits: CopyLimits): number {
  const room = new CopyBatchRoom(limits);
  while (room.count < queue.length && room.take(queue[room.count]!.sizeBytes));
  return room.count;
}
