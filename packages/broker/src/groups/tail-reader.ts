/**
 * A subscription without a group: an ephemeral tail reader. It reads every partition from its
 * start position onwards and hands each record to its one consumer, at most `maxInFlight` at a
 * time. No acks are kept and nothing is redelivered; settling a delivery only frees its slot.
 * Any number of tail readers see every record (fan-out).
 *
 * Retention overtaking a reader (deleting records it has not handed out yet) is told as it is to
 * a group: a `retentionDropped` event naming the reader (`reader`, its id), and its
 * `lostToRetention` count; it continues at the new startOffset.
 */
import { decodeStoredBatch, isBrookError, type BrookError, type StoredRecord } from '@brook/protocol';
import type { BrokerEventEmitter } from '../events.js';
import type { PartitionLog } from '../log/partition-log.js';
import { Delivery } from './delivery.js';
import { Fifo } from './fifo.js';
import type { DeliverySink } from './member.js';
import { Pump } from './pump.js';
import { StepRetry, type StepRetryDeps } from './step-retry.js';
import { DEFAULT_BACKOFF } from './subscribe-options.js';

export class TailReader {
  /** Per partition, records read and not yet handed out, in offset order. */
  private readonly buffered: Fifo<StoredRecord>[];
  private inFlight = 0;
  /** The partition whose turn it is. */
  private next = 0;
  private readonly pump = new Pump(() => this.step());
  /** A read that failed on a retriable error is tried again after the default backoff (no group, no backoff option). */
  private readonly stepRetry: StepRetry;
  /** A read that failed for good (see step()); it ends the reader's subscription. */
  private failure: BrookError | undefined;
  /** Ends the reader's subscription by the broker: set by its handle (endsWith). */
  private ender: ((error: BrookError) => void) | undefined;
  closed = false;
  /** Records retention deleted before this reader handed them out, over every partition. */
  lostToRetention = 0n;

  constructor(
    /** Names the reader in events (`retentionDropped`'s `reader`) and is its subscription's memberId. */
    readonly id: string,
    readonly topic: string,
    private readonly logs: readonly PartitionLog[],
    private readonly readOffsets: bigint[],
    private readonly limits: { readonly maxInFlight: number; readonly fetchBytes: number },
    private readonly sink: DeliverySink,
    private readonly events: BrokerEventEmitter,
    timers: StepRetryDeps,
  ) {
    this.buffered = logs.map(() => new Fifo());
    this.stepRetry = new StepRetry(timers, () => DEFAULT_BACKOFF, () => this.schedulePump());
  }

  schedulePump(): void {
    this.pump.schedule();
  }

  /** `end` ends this reader's subscription by the broker: called once a read fails for good, at once if one did already. */
  endsWith(end: (error: BrookError) => void): void {
    this.ender = end;
    if (this.failure) end(this.failure);
  }

  /** A delivery was settled, however: its slot is free for the next record. */
  release(): void {
    this.inFlight -= 1;
    this.schedulePump();
  }

  /**
   * Fills the free slots, taking the partitions in turn, a record each, and going on next time
   * from where this step stopped: a steady backlog on one partition cannot take every freed slot
   * and starve the others (as a group's orderings take care of too).
   */
  private async step(): Promise<void> {
    const count = this.logs.length;
    try {
      // Ends once every partition in a row had nothing to read.
      for (let idle = 0; idle < count && this.inFlight < this.limits.maxInFlight && !this.closed;) {
        const p = this.next;
        this.next = (p + 1) % count;
        // A partition with nothing new costs no await: with one busy partition among many, each
        // record would otherwise wait a turn for every idle one.
        let record = this.buffered[p]!.shift();
        if (!record && this.readOffsets[p]! < this.logs[p]!.endOffset) record = await this.read(p);
        if (!record) {
          idle += 1;
          continue;
        }
        idle = 0;
        this.inFlight += 1;
        this.sink(new TailDelivery(this, p, record));
      }
      this.stepRetry.succeeded();
    } catch (error) {
      // CLOSED is the end of its topic or broker, which end the reader themselves.
      if (this.closed || !isBrookError(error) || error.code === 'CLOSED') return;
      // A retriable failure (an I/O error) is tried again after a backoff, or at the next new
      // record or freed slot if one comes first. One that is not (a damaged batch fails every
      // read of it alike) would stall the reader there for good, and nothing shows a reader's
      // state: it ends with the failure instead.
      if (error.retriable) return this.stepRetry.failed();
      this.failure ??= error;
      this.ender?.(this.failure);
    }
  }

  /** It reads no further: closed by its subscription, its topic's deletion or the broker's close. */
  close(): void {
    this.closed = true;
    this.stepRetry.cancel();
  }

  /**
   * Retention deleted the records of `partition` below `startOffset`. Those the reader had not
   * handed out yet are lost, read ahead into its buffer or not: it goes on at startOffset, as a
   * group does, and says how many it skipped.
   */
  overtakenBy(partition: number, startOffset: bigint): void {
    // A read under way when the reader was closed may still meet the deleted records: a reader
    // that is gone loses nothing, and no event names it.
    if (this.closed) return;
    const buffered = this.buffered[partition]!;
    const position = buffered.peek()?.offset ?? this.readOffsets[partition]!;
    if (position >= startOffset) return;
    buffered.dropWhile((record) => record.offset < startOffset);
    if (this.readOffsets[partition]! < startOffset) this.readOffsets[partition] = startOffset;
    const lostRecords = startOffset - position;
    this.lostToRetention += lostRecords;
    if (this.events.wants('retentionDropped')) {
      this.events.emit('retentionDropped', { topic: this.topic, partition, startOffset, reader: this.id, lostRecords });
    }
    this.schedulePump();
  }

  /**
   * Reads the next records of partition `p` into its buffer and returns the first. Retention may
   * overtake the reader before or while it reads: it then reads again from startOffset.
   */
  private async read(p: number): Promise<StoredRecord | undefined> {
    const log = this.logs[p]!;
    for (;;) {
      const from = this.readOffsets[p]!;
      if (from >= log.endOffset) return undefined;
      let batches;
      try {
        // Shared: the records reach the consumer through Delivery, which hands out copies of their bytes.
        // About a window's worth: every record read waits in `buffered` until handed out, and a
        // read of fetchBytes (~30k small records) kept that many alive across scavenges, which
        // doubled the reader's CPU a record (docs/benchmarks-history.md, "Tail reader read-ahead").
        batches = await log.read(from, { maxBytes: this.limits.fetchBytes, maxRecords: this.limits.maxInFlight, shared: true });
      } catch (error) {
        if (!isBrookError(error, 'OFFSET_OUT_OF_RANGE') || from >= log.startOffset) throw error;
        if (this.closed) return undefined; // closed meanwhile: it reads no further, and is told nothing
        // Retention ran, and the coordinator has not told this reader yet.
        this.overtakenBy(p, log.startOffset);
        continue;
      }
      // Records below readOffsets were counted lost if retention overtook the read meanwhile.
      for (const batch of batches) {
        for (const record of decodeStoredBatch(batch.bytes).records) {
          if (record.offset >= this.readOffsets[p]!) this.buffered[p]!.push(record);
        }
      }
      const last = this.buffered[p]!.last();
      if (last) this.readOffsets[p] = last.offset + 1n;
      if (last || this.readOffsets[p] === from) return this.buffered[p]!.shift();
    }
  }
}

const NOTHING_TO_WAIT_FOR = Promise.resolve();

/** A tail reader's delivery: there is no ack to keep, so settling it only frees its slot. */
class TailDelivery extends Delivery {
  constructor(private readonly reader: TailReader, partition: number, record: StoredRecord) {
    super(reader.topic, partition, record, 1);
  }

  protected takenBack(): boolean {
    return false;
  }

  protected settleAck(): Promise<void> {
    this.reader.release();
    return NOTHING_TO_WAIT_FOR;
  }

  protected settleNack(): void {
    this.reader.release();
  }

  protected settleExtend(): void {}

  protected settleReject(): Promise<void> {
    this.reader.release();
    return NOTHING_TO_WAIT_FOR;
  }
}
