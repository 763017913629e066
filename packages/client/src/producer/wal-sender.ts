/**
 * The WAL producer's background sender: for each WAL batch, oldest first,
 *
 *   1. split it by destination (wal-route.ts) and send every part at once, one per partition,
 *      each with its producer id and sequence from the state file (wal-state.ts), through the
 *      same retry loop as the plain producer (transmit.ts): retriable errors back off and retry
 *      for as long as it takes (the WAL holds the records, bounded by walBytesMax);
 *   2. once every part is written: the `afterAck` hook (failure drills), then set aside each
 *      poisoned part (below), then write the state file (next sequences, committedWalBatch),
 *      and only then commit the batch in the FileBuffer.
 *
 * A WAL batch the state file already counts as acknowledged (a crash between the state write
 * and the commit) is committed without sending. Every other uncommitted batch is sent again
 * with the sequences the state gives, the same as the first time: the broker answers
 * `duplicate` for each part it already has. docs/wal.md has the crash-point table.
 *
 * Poison: a part the broker refuses for a reason that lies in the part itself (POISON_CODES) is
 * written to `poison-<walBatch>-<partition>-<topic>.json` in the WAL directory (atomically; a
 * long topic is cut in the name, see poisonFileName), reported, and its records are not sent
 * again; its partition's sequence does not advance, as the broker refused it, unless an earlier
 * request may have been appended (see deliver). Only an answer to the part's produce request
 * poisons it: a refusal of what it needs first (initProducer, even INVALID_REQUEST) says nothing
 * about its records. That and any other fatal answer (PRODUCER_FENCED, UNAUTHORIZED, a closed
 * connection) stops the sender with that error and leaves the batch in the WAL, as does a
 * duplicate answer no earlier send of ours can explain (takenOver).
 */
import {
  BrookError, encodeBatch, isBrookError, writeFileAtomic, type ErrorCode, type FileSystem, type RecordInput,
} from '@brook/protocol';
import type { FileBuffer, WalBatch } from '../wal/file-buffer.js';
import { nextReadyBatch } from '../wal/drain.js';
import { Batch, type ProducerIdentity } from './batch.js';
import { SendTicket, type ProduceResult } from './send-ticket.js';
import { transmit, type Numbering, type TransmitContext } from './transmit.js';
import { groupByRoute, type RoutedGroup } from './wal-route.js';
import {
  advanced, numberingOf, saveState, startedOver, withFreshId, type PartitionNumbering, type WalProducerState,
} from './wal-state.js';

/** Refusals that say something about the part itself: sending it again cannot succeed. */
export const POISON_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'MESSAGE_TOO_LARGE', 'CORRUPT_BATCH', 'INVALID_REQUEST', 'UNKNOWN_TOPIC', 'UNKNOWN_PARTITION', 'INVALID_TOPIC_NAME',
]);

/**
 * Topics of this many characters or more are cut in poison file names: with the batch number,
 * the partition and the `.json.tmp` of the atomic write, a whole 249-character topic would pass
 * the 255-byte limit of a file name, and the failed write would stop the sender on every open.
 */
const POISON_TOPIC_CHARS = 64;
const POISON_HASH_CHARS = 16;

/**
 * `poison-<walBatch, 20 digits>-<partition>-<topic>.json`: sorted by WAL batch, unique as a batch
 * has one part per topic and partition, and the same name on every resend of the part. A topic
 * of POISON_TOPIC_CHARS or more becomes its first characters, `~` and 16 hex digits of the
 * SHA-256 of the whole name, POISON_TOPIC_CHARS in all; `~` is not a topic character, so a cut
 * name never equals a whole one. The report and the file's JSON carry the whole topic.
 */
async function poisonFileName(walBatch: number, topic: string, partition: number): Promise<string> {
  let tag = topic;
  if (topic.length >= POISON_TOPIC_CHARS) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(topic)));
    const hash = Buffer.from(digest).toString('hex').slice(0, POISON_HASH_CHARS);
    tag = `${topic.slice(0, POISON_TOPIC_CHARS - POISON_HASH_CHARS - 1)}~${hash}`;
  }
  return `poison-${String(walBatch).padStart(20, '0')}-${partition}-${tag}.json`;
}

export interface SentPart {
  readonly topic: string;
  readonly partition: number;
  readonly baseOffset: bigint;
  readonly records: number;
  /** The broker already had it: a resend of a batch sent before a crash or a lost answer. */
  readonly duplicate: boolean;
}

export interface PoisonReport {
  readonly walBatch: number;
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly RecordInput[];
  readonly error: BrookError;
  /** Where the records were set aside (a RecordBatch v2, base64, in JSON). */
  readonly file: string;
}

export interface WalSenderContext extends TransmitContext {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly buffer: FileBuffer;
  /** Awaited after the broker acknowledged every part of a batch, before the state write and the commit. */
  readonly afterAck: ((batch: WalBatch) => Promise<void> | void) | undefined;
  /** The WAL's nextBatchSequence at open: batches below it were sealed, and one of them perhaps sent, by the process before. */
  readonly sealedBeforeOpen: number;
  /** After the commit; `parts` undefined for a batch the state file already counted (nothing sent). */
  committed(batch: WalBatch, parts: readonly SentPart[] | undefined): void;
  poisoned(report: PoisonReport): void;
  /** As the plain producer's partitionCountStale: the topic's partition count must be looked up again. */
  partitionCountStale(topic: string): void;
}

type PartOutcome = {
  readonly group: RoutedGroup; readonly part?: SentPart; readonly error?: BrookError;
  /**
   * The error is the broker's refusal of a request for the part (POISON_CODES), so the part was
   * sent at least once; not a failure of what it needed first (its producer id, the state write).
   */
  readonly poison: boolean;
  /** Requests made for the part in this life: with more than one, an earlier one's fate is unknown. */
  readonly attempts: number;
};

export class WalSender {
  private readonly inFlight = new Set<Batch>();
  /** Partitions whose next send needs a fresh producer id (the broker lost their sequence). */
  private readonly freshNeeded = new Set<string>();
  private sharedResumed: Promise<void> | undefined;
  /** Until the first batch is sent: if sealed before the open, it may be the one the process before had sent when it died. */
  private firstSend = true;
  private saved: Promise<void> = Promise.resolve();
  private stopping = false;
  private wakeStopped!: () => void;
  private readonly stopped = new Promise<void>((resolve) => (this.wakeStopped = resolve));

  constructor(private readonly context: WalSenderContext, private state: WalProducerState) {}

  get producerId(): bigint | undefined {
    return this.state.shared?.producerId;
  }

  /** Runs until stop() or the buffer closes; rejects with what stopped it otherwise. */
  async run(): Promise<void> {
    // Undefined once stop() was called or the buffer closed: a batch stopping interrupted stays.
    for (let batch; (batch = await nextReadyBatch(this.context.buffer, () => this.stopping, this.stopped)) !== undefined;) {
      await this.deliver(batch);
    }
    // A state write queued before stop() ends before the WAL closes and its lock is released.
    await this.saved.catch(() => undefined);
  }

  /** Stops after the batch in progress: its unanswered parts are abandoned, to be resent next time. */
  stop(): void {
    this.stopping = true;
    this.wakeStopped();
    for (const batch of this.inFlight) batch.fail(new BrookError('CLOSED', 'the WAL producer is closing'));
  }

  /** Sends, sets aside poison, records and commits one WAL batch, unless stopping interrupts it. */
  private async deliver(batch: WalBatch): Promise<void> {
    let parts: SentPart[] | undefined;
    if (batch.sequence > this.state.committedWalBatch) {
      const maybeSentBefore = this.firstSend && batch.sequence < this.context.sealedBeforeOpen;
      this.firstSend = false;
      const outcomes = await Promise.all(groupByRoute(batch.records).map((group) => this.sendPart(group)));
      if (this.stopping) return;
      const fatal = outcomes.find((o) => o.error !== undefined && !o.poison);
      if (fatal) throw fatal.error;
      const taken = outcomes.find((o) => o.part?.duplicate === true && o.attempts === 1 && !maybeSentBefore);
      if (taken) throw this.takenOver(taken.group, taken.part!);
      await this.context.afterAck?.(batch);
      const poisoned = outcomes.filter((o) => o.poison);
      const reports = await Promise.all(poisoned.map((o) => this.setAside(batch.sequence, o.group, o.error!)));
      const written = outcomes.filter((o) => o.part !== undefined);
      // A poisoned part that an earlier request (in this life or the last) may have appended
      // spends its sequences too: reused by the next part to the partition, with as many
      // records, the broker would answer that part as its duplicate and drop its records. If it
      // was not appended, the gap gets the next part OUT_OF_ORDER_SEQUENCE and a fresh id.
      // (Every poisoned part was sent at least once: with maybeSentBefore, that may be the resend.)
      const spent = poisoned.filter((o) => o.attempts > 1 || maybeSentBefore);
      const counts = new Map([...written, ...spent].map((o) => [o.group.key, o.group.records.length]));
      await this.persist((state) => advanced(state, batch.sequence, counts));
      parts = written.map((o) => o.part!);
      for (const report of reports) this.context.poisoned(report);
    }
    // The buffer closes only after run() ended (close() stops the sender first): a failed commit
    // is a failed WAL, and stops the sender; the state file counts the batch, the next open commits it.
    await this.context.buffer.commit(batch.sequence);
    this.context.committed(batch, parts);
  }

  /**
   * A part sent once in this life, sealed in this life, can only be a duplicate of someone
   * else's batch: another instance (a copy of this directory: a cloned machine, a restored
   * backup) wrote other records under our id, epoch and sequences. Committing would drop this
   * part's records, so the sender stops as fenced, the batch kept in the WAL. Not caught: a clone
   * whose colliding part was sent more than once, or is the first after its open.
   */
  private takenOver(group: RoutedGroup, part: SentPart): BrookError {
    const { producerId, producerEpoch, nextSequence } = numberingOf(this.state, group.key)!;
    return new BrookError('PRODUCER_FENCED', `producer ${producerId} epoch ${producerEpoch}: the broker already had sequence ${nextSequence} of ${group.topic}/${group.partition} from `
      + `another batch, at offset ${part.baseOffset}: another instance writes under this id (a copy of this WAL directory?); to go on with this one, close it and forget the id (forgetWalProducerId, brook wal forget-producer-id)`, {
      producerId, producerEpoch, topic: group.topic, partition: group.partition, baseSequence: nextSequence, baseOffset: part.baseOffset,
    });
  }

  private async sendPart(group: RoutedGroup): Promise<PartOutcome> {
    let ticket!: SendTicket;
    const answered = new Promise<ProduceResult[]>((resolve, reject) => (ticket = new SendTicket(group.records.length, resolve, reject)));
    const batch = new Batch();
    const { topic, partition } = group;
    // True while the part's bytes are made (its producer id asked for and written to the state
    // file, the batch encoded), and after that failed: the broker has not refused the part then
    // (a refused initProducer says nothing about the records), so it stops the sender, no poison.
    let encoding = false;
    const outcome = answered.then(
      ([first]): PartOutcome => ({
        group, attempts: batch.attempts, poison: false,
        part: { topic, partition, baseOffset: first!.offset, records: group.records.length, duplicate: batch.duplicate },
      }),
      (error: BrookError): PartOutcome => ({ group, attempts: batch.attempts, error, poison: !encoding && POISON_CODES.has(error.code) }),
    );
    // Batch.sizeBytes bounds the plain producer's buffer; the FileBuffer bounds this one.
    group.records.forEach((record, position) => batch.add(record, 0, ticket, position));
    this.inFlight.add(batch);
    // Done once written or failed, stop() included: close() does not wait for the broker, and a
    // request still unanswered then (an id, or the produce itself) runs its course unheard.
    void transmit(this.context, topic, partition, batch, this.numbering(topic, group.key, (pending) => (encoding = pending)));
    await batch.settled;
    this.inFlight.delete(batch);
    return await outcome;
  }

  /**
   * Sequences from the state; a refused part simply leaves its partition's sequence where it was.
   * A lost sequence or a missing topic or partition may mean the topic was made again: later puts
   * route by its partition count looked up again (those already in the WAL keep their partition).
   */
  private numbering(topic: string, key: string, encoding: (pending: boolean) => void): Numbering {
    return {
      encode: async (batch) => {
        // The same bytes again for a resend: batch.encode() fixed them at the first call.
        encoding(true);
        const numbering = await this.numberingFor(key);
        const bytes = batch.encode(numbering, numbering.nextSequence);
        encoding(false);
        return bytes;
      },
      lost: (batch) => {
        this.freshNeeded.add(key);
        batch.forgetSequence();
        this.context.partitionCountStale(topic);
      },
      refused: (_batch, error) => {
        if (error.code === 'UNKNOWN_TOPIC' || error.code === 'UNKNOWN_PARTITION') this.context.partitionCountStale(topic);
      },
    };
  }

  /**
   * A partition the broker lost gets a fresh producer id at sequence 0, written to the state
   * file BEFORE anything is sent under it: a resend after a crash must use the same id.
   */
  private async numberingFor(key: string): Promise<PartitionNumbering> {
    await this.resumeShared();
    if (this.freshNeeded.has(key)) {
      const fresh = await this.initProducer({});
      await this.persistBeforeSend((state) => withFreshId(state, key, fresh));
      this.freshNeeded.delete(key);
    }
    return numberingOf(this.state, key)!;
  }

  /**
   * Once per life: the shared producer id from the state file, checked with the broker, or a new
   * one (persisted before use). A broker that never issued our id, or issued it under another
   * incarnation (its data is gone: it may have issued the id again to another producer), gets a
   * new id and every partition restarts at 0: nothing of ours is in its log to be duplicated.
   */
  private resumeShared(): Promise<void> {
    this.sharedResumed ??= this.resolveShared().catch((error: unknown) => {
      this.sharedResumed = undefined;
      throw error;
    });
    return this.sharedResumed;
  }

  private async resolveShared(): Promise<void> {
    const { shared, incarnation } = this.state;
    if (shared) {
      try {
        const current = await this.initProducer({ producerId: shared.producerId, incarnation });
        if (current.producerEpoch === shared.producerEpoch) {
          // A file from before incarnations: the broker vouched for the id, so it is of the broker's.
          if (incarnation === undefined && current.incarnation !== undefined) await this.persistBeforeSend((state) => ({ ...state, incarnation: current.incarnation }));
          return;
        }
        throw new BrookError('PRODUCER_FENCED', `producer ${shared.producerId} is at epoch ${current.producerEpoch}, this WAL at ${shared.producerEpoch}: `
          + 'another instance took the id over; to go on with this one, close it and forget the id (forgetWalProducerId, brook wal forget-producer-id)', {
          producerId: shared.producerId, producerEpoch: shared.producerEpoch, currentEpoch: current.producerEpoch,
        });
      } catch (error) {
        if (!isBrookError(error, 'UNKNOWN_PRODUCER_ID')) throw error;
      }
    }
    const identity = await this.initProducer({});
    await this.persistBeforeSend((state) => startedOver(state, identity));
  }

  /** A new id, or `producerId` resumed (refused if the broker issued it under another incarnation than `incarnation`). */
  private async initProducer(args: { producerId?: bigint; incarnation?: string | undefined }): Promise<ProducerIdentity> {
    const { producerId, incarnation } = args;
    const request = producerId === undefined ? {} : { producerId: producerId.toString(), ...(incarnation !== undefined && { incarnation }) };
    const { json } = await this.context.connection.request('initProducer', request);
    return { producerId: BigInt(json.producerId), producerEpoch: json.producerEpoch, incarnation: json.incarnation };
  }

  /**
   * A write a part needs before it goes out (its producer id): refused once stopping, as the part
   * is abandoned then and close() does not wait for it, so the write could come after the WAL
   * closed and released its lock to the next owner of the directory.
   */
  private persistBeforeSend(update: (state: WalProducerState) => WalProducerState): Promise<void> {
    if (this.stopping) return Promise.reject(new BrookError('CLOSED', 'the WAL producer is closing'));
    return this.persist(update);
  }

  /**
   * Writes `update(state)` to the state file and only then makes it the state: an id whose write
   * failed is never sent under (a crash after the ack would resend the batch under another id,
   * and the broker would append it twice). Writes never overlap (parts may renumber concurrently).
   */
  private persist(update: (state: WalProducerState) => WalProducerState): Promise<void> {
    const write = this.saved.catch(() => undefined).then(async () => {
      const next = update(this.state);
      await saveState(this.context.fs, this.context.dir, next);
      this.state = next;
    });
    this.saved = write;
    return write;
  }

  private async setAside(walBatch: number, group: RoutedGroup, error: BrookError): Promise<PoisonReport> {
    const { topic, partition, records } = group;
    const file = `${this.context.dir}/${await poisonFileName(walBatch, topic, partition)}`;
    const content = {
      version: 1, walBatch, topic, partition, error: { code: error.code, message: error.description },
      batch: Buffer.from(encodeBatch(records)).toString('base64'),
    };
    await writeFileAtomic(this.context.fs, file, new TextEncoder().encode(JSON.stringify(content)));
    return { walBatch, topic, partition, records, error, file };
  }
}
