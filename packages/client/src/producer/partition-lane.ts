/**
 * The send path of one topic partition: at most ONE produce request in flight, the next batch
 * collecting records meanwhile.
 *
 * Why one and not a pipeline: with idempotence the broker checks each batch's baseSequence
 * against the last one it appended, so a pipeline needs Kafka's recovery dance when a batch in
 * the middle fails (every later one comes back OUT_OF_ORDER_SEQUENCE and must be renumbered and
 * resent in order). With one in flight, a batch that fails for good simply gives its sequence
 * back, a resend after a dropped connection is the only batch that can be a duplicate, and order
 * within the partition holds through any retry. Throughput does not suffer: while a batch is in
 * flight the next one grows (up to batchRecordsMax / batchBytesMax), so batch size adapts to the
 * round-trip time, and partitions (and producers) still pipeline with each other up to the
 * server's requestsInFlightMax.
 *
 * Retries are transmit.ts's loop, with the batch's original bytes, sequence included. The lane's
 * part is the numbering: UNKNOWN_PRODUCER_ID / OUT_OF_ORDER_SEQUENCE (the broker does not know
 * our sequence: restarted without it, or evicted it) move the partition to a fresh producer id
 * and renumber the batch, which the broker has certainly not appended. A batch not persisted
 * within deliveryTimeoutMs fails with TIMEOUT.
 */
import { BrookError, addToSequence } from '@brook/protocol';
import type { ResolvedProducerOptions } from '../options.js';
import { Batch, type ProducerIdentity } from './batch.js';
import type { ProducerIdentities } from './producer-identities.js';
import type { SendTicket } from './send-ticket.js';
import { deliveryTimeout, transmit, type Numbering, type TransmitContext } from './transmit.js';

export interface LaneContext extends TransmitContext {
  readonly options: ResolvedProducerOptions;
  /** Undefined for a producer that is not idempotent. */
  readonly identities: ProducerIdentities | undefined;
  /** Every batch not yet settled, for flush() and the buffer bound. */
  readonly pending: Set<Batch>;
  /** A batch was written or failed: its bytes leave the buffer. */
  batchSettled(batch: Batch): void;
  /**
   * The broker answered UNKNOWN_TOPIC or UNKNOWN_PARTITION, or lost this partition's producer
   * sequence (UNKNOWN_PRODUCER_ID, OUT_OF_ORDER_SEQUENCE): the cached partition count may be stale
   * (the topic was deleted, perhaps created again with other partitions: keys would otherwise go
   * by the old count for good while the partitions exist).
   */
  partitionCountStale(topic: string): void;
}

export interface BatchLimits {
  readonly records: number;
  readonly bytes: number;
}

/** A lane is also its batches' Numbering: per-partition sequences kept in memory. */
export class PartitionLane implements Numbering {
  private open: Batch | undefined;
  private readonly full: Batch[] = [];
  private sending = false;
  private identity: ProducerIdentity | undefined;
  private freshIdentityNeeded = false;
  private nextSequence = 0;

  constructor(
    private readonly context: LaneContext,
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Adds record `position` of the send `ticket`, which must be persisted by `deadlineMs` (on the clock's monotonicMs()). */
  add(record: Batch['records'][number], sizeBytes: number, ticket: SendTicket, position: number, deadlineMs: number, limits: BatchLimits): void {
    const open = this.open;
    if (open && (open.done || open.records.length >= limits.records || open.sizeBytes + sizeBytes > limits.bytes)) this.seal();
    const batch = (this.open ??= this.newBatch());
    batch.add(record, sizeBytes, ticket, position);
    if (deadlineMs < batch.deadlineMs) this.expireAt(batch, deadlineMs);
    if (batch.records.length >= limits.records) this.seal();
  }

  /**
   * The open batch takes no more records. Lingering cannot add to it, so it goes as soon as the
   * lane is free (one done meanwhile, timed out, is skipped then).
   */
  private seal(): void {
    const batch = this.open!;
    this.open = undefined;
    this.full.push(batch);
    this.release();
  }

  /** Sends the collected records now unless a batch is in flight (then they go when it returns). */
  release(): void {
    if (!this.sending) this.sendNext();
  }

  private newBatch(): Batch {
    const batch = new Batch();
    this.context.pending.add(batch);
    void batch.settled.then(() => this.context.batchSettled(batch));
    return batch;
  }

  private expireAt(batch: Batch, deadlineMs: number): void {
    batch.deadlineMs = deadlineMs;
    batch.deliveryTimer?.cancel();
    batch.deliveryTimer = this.context.clock.setTimer(Math.max(0, deadlineMs - this.context.clock.monotonicMs()), () => this.expire(batch));
  }

  private sendNext(): void {
    let batch = this.full.shift();
    while (batch?.done) batch = this.full.shift();
    if (!batch && this.open && !this.open.done) {
      batch = this.open;
      this.open = undefined;
    }
    if (!batch) return;
    this.sending = true;
    void transmit(this.context, this.topic, this.partition, batch, this).finally(() => {
      this.sending = false;
      this.sendNext();
    });
  }

  async encode(batch: Batch): Promise<Uint8Array> {
    if (batch.bytes) return batch.bytes;
    if (!this.context.identities) return batch.encode(undefined, -1);
    if (this.identity && this.context.identities.isVoid(this.identity)) {
      // The broker now on the connection never saw this id's sequences: start over on its shared id.
      this.identity = undefined;
      this.nextSequence = 0;
    }
    if (!this.identity) {
      this.identity = this.freshIdentityNeeded ? await this.context.identities.fresh() : await this.context.identities.shared();
      this.freshIdentityNeeded = false;
    }
    // Failed (deliveryTimeoutMs) while the id was on its way: transmit() sends nothing, so taking
    // its sequences would leave a gap the broker refuses the next batch for.
    if (batch.done) return batch.encode(this.identity, this.nextSequence);
    const baseSequence = this.nextSequence;
    this.nextSequence = addToSequence(baseSequence, batch.records.length);
    return batch.encode(this.identity, baseSequence);
  }

  lost(batch: Batch): void {
    this.renewIdentity();
    batch.forgetSequence();
    this.context.partitionCountStale(this.topic);
  }

  refused(batch: Batch, error: BrookError): void {
    // Certainly not appended by this answer; but an earlier attempt's fate is unknown.
    if (batch.attempts > 1) this.renewIdentity();
    else if (batch.baseSequence >= 0) this.nextSequence = batch.baseSequence;
    if (error.code === 'UNKNOWN_TOPIC' || error.code === 'UNKNOWN_PARTITION') this.context.partitionCountStale(this.topic);
  }

  /**
   * Sends the batch's records on as two batches, first half first, taking the sequences it had
   * (halves that go on refused are halved again, down to a record alone). A batch cut to the
   * limits of the WELCOME before a reconnect may be over the new server's: it failed whole,
   * though every record fitted. A batch refused TOPIC_FULL: the room a discard 'new' partition
   * has left may take some of its records, as it would some of the sends merged into it. Kept on
   * its producer id: if an earlier attempt did reach the old server's log, the broker answers
   * each half as a duplicate of its part of that batch, with its records' offsets.
   */
  split(batch: Batch): boolean {
    if (batch.records.length < 2) return false;
    if (batch.bytes) this.nextSequence = batch.baseSequence;
    const { deadlineMs } = batch;
    const halves = batch.halves(() => this.newBatch());
    // Every batch has a deadline: each send brings one (deliveryTimeoutMs is finite).
    for (const half of halves) this.expireAt(half, deadlineMs);
    this.full.unshift(...halves);
    return true;
  }

  /** Only ever a batch not yet done: finishing cancels its delivery timer. */
  private expire(batch: Batch): void {
    // Sent at least once: it may be in the log, so its sequence numbers are spent or not — unknowable.
    if (batch.attempts > 0) this.renewIdentity();
    else if (batch.bytes) this.nextSequence = batch.baseSequence;
    const timeoutMs = this.context.options.deliveryTimeoutMs;
    batch.fail(deliveryTimeout(`batch for ${this.topic}/${this.partition} not persisted within deliveryTimeoutMs ${timeoutMs}`, {
      topic: this.topic, partition: this.partition, deliveryTimeoutMs: timeoutMs,
    }, batch.lastFailure));
  }

  /** The next batch starts a fresh producer id at sequence 0. */
  private renewIdentity(): void {
    this.identity = undefined;
    this.freshIdentityNeeded = true;
    this.nextSequence = 0;
  }
}
