/**
 * A batch for one partition: records collected from one or more send() calls, encoded once as a
 * RecordBatch v2 the first time it is sent, and resent byte for byte (same producer id, epoch
 * and baseSequence) until the broker answers, so a resend after a lost answer is recognised as
 * a duplicate instead of being appended twice.
 */
import { BrookError, assert, encodeBatch, sizeOfRecordMax, type EncodableRecord, type Timer } from '@brook/protocol';
import type { Withdrawal } from '../request-table.js';
import type { SendTicket } from './send-ticket.js';

export interface ProducerIdentity {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** The broker data directory's incarnation the id was issued under; undefined from a broker without them. */
  readonly incarnation?: string | undefined;
}

/**
 * The most bytes each record of a send can take in a batch (sizeOfRecordMax), or
 * MESSAGE_TOO_LARGE naming the first record over `limitBytes` (a record's share of the largest
 * batch it may travel in): such a record could never be sent, so its send is refused whole.
 */
export function recordSizesWithin(inputs: readonly EncodableRecord[], limitBytes: number): number[] {
  return inputs.map((input, position) => {
    const size = sizeOfRecordMax(input);
    if (size > limitBytes) throw new BrookError('MESSAGE_TOO_LARGE', `record ${position} takes up to ${size} bytes, over the batch limit of ${limitBytes}`, { record: position, limit: limitBytes });
    return size;
  });
}

/** The records of one send() call in this batch, in batch order. */
interface Part {
  readonly ticket: SendTicket;
  readonly positions: number[];
}

/**
 * Why a finished batch's waiting request is withdrawn. Nobody reads it (the batch is done by
 * then), and one shared value spares every batch an error of its own.
 */
const BATCH_FINISHED = Object.freeze({ batchFinished: true });

export class Batch implements Withdrawal {
  readonly records: EncodableRecord[] = [];
  private readonly parts: Part[] = [];
  sizeBytes = 0;
  /** Set at the first send; kept for every resend. */
  baseSequence = -1;
  /** The incarnation of the encoded batch's producer id, sent with it: another data directory refuses it. */
  incarnation: string | undefined;
  private encoded: Uint8Array | undefined;
  /** The broker answered that it already had the batch (a resend after a lost answer or a crash). */
  duplicate = false;
  /** Requests made for it so far: after more than one, its fate before the last answer is unknown. */
  attempts = 0;
  /** Why its last request failed (a retriable error, a dropped connection): a TIMEOUT's cause. */
  lastFailure: BrookError | undefined;
  /** When the batch fails with TIMEOUT if not persisted (clock time): the earliest deadline of its sends. */
  deadlineMs = Number.POSITIVE_INFINITY;
  deliveryTimer: Timer | undefined;
  private finished = false;
  /** Told once the batch is written or failed: a request for it still waiting to be sent is withdrawn. */
  private finishWatchers: (() => void)[] | undefined;
  private readonly whenSettled: Promise<void>;
  private markSettled!: () => void;

  constructor() {
    this.whenSettled = new Promise((resolve) => (this.markSettled = resolve));
  }

  get done(): boolean {
    return this.finished;
  }

  get withdrawnReason(): unknown {
    return BATCH_FINISHED;
  }

  whenDone(withdraw: () => void): () => void {
    const watchers = (this.finishWatchers ??= []);
    watchers.push(withdraw);
    return () => {
      const at = watchers.indexOf(withdraw);
      if (at >= 0) watchers.splice(at, 1);
    };
  }

  /** Resolves once the batch is written or failed (never rejects): what flush() waits for. */
  get settled(): Promise<void> {
    return this.whenSettled;
  }

  add(record: EncodableRecord, sizeBytes: number, ticket: SendTicket, position: number): void {
    this.records.push(record);
    this.sizeBytes += sizeBytes;
    const last = this.parts[this.parts.length - 1];
    if (last?.ticket === ticket) last.positions.push(position);
    else this.parts.push({ ticket, positions: [position] });
  }

  /** Fixes the batch's identity and sequence: from now on every send carries the same bytes. */
  encode(identity: ProducerIdentity | undefined, baseSequence: number): Uint8Array {
    if (!this.encoded) {
      this.baseSequence = baseSequence;
      this.incarnation = identity?.incarnation;
      this.encoded = identity
        ? encodeBatch(this.records, { producerId: identity.producerId, producerEpoch: identity.producerEpoch, baseSequence })
        : encodeBatch(this.records);
    }
    return this.encoded;
  }

  /** Drops the encoding so the next send takes a new identity and sequence (the old ones are void). */
  forgetSequence(): void {
    this.encoded = undefined;
    this.baseSequence = -1;
    this.incarnation = undefined;
  }

  /** The encoded batch once a send fixed its sequence; undefined before. */
  get bytes(): Uint8Array | undefined {
    return this.encoded;
  }

  written(partition: number, baseOffset: bigint, duplicate: boolean): void {
    this.duplicate = duplicate;
    let offset = baseOffset;
    for (const part of this.parts) {
      part.ticket.written(part.positions, partition, offset);
      offset += BigInt(part.positions.length);
    }
    this.finish();
  }

  /**
   * Moves its records, in order, into two new batches made by `make` (the first half and the rest)
   * and finishes without settling its sends: each half settles its share of them. Its bytes move
   * with the records, so it frees none from the producer's buffer as it finishes. At least two
   * records, not yet done.
   */
  halves(make: () => Batch): [Batch, Batch] {
    assert(this.records.length >= 2 && !this.finished, 'halves() of a batch of fewer than two records, or done', { records: this.records.length });
    const split = Math.ceil(this.records.length / 2);
    const halves: [Batch, Batch] = [make(), make()];
    let index = 0;
    for (const part of this.parts) {
      for (const position of part.positions) {
        const record = this.records[index]!;
        // The size the producer counted it at (recordSizesWithin), worked out again: halving is
        // rare, and keeping every record's size would cost each send.
        halves[index < split ? 0 : 1].add(record, sizeOfRecordMax(record), part.ticket, position);
        index += 1;
      }
    }
    assert(halves[0].sizeBytes + halves[1].sizeBytes === this.sizeBytes, 'halves() counted the records at other sizes than add() did', {
      sizeBytes: this.sizeBytes, halves: [halves[0].sizeBytes, halves[1].sizeBytes],
    });
    this.sizeBytes = 0;
    this.finish();
    return halves;
  }

  fail(error: BrookError): void {
    for (const part of this.parts) part.ticket.fail(error);
    this.finish();
  }

  private finish(): void {
    this.finished = true;
    this.deliveryTimer?.cancel();
    const watchers = this.finishWatchers;
    this.finishWatchers = undefined;
    for (const withdraw of watchers ?? []) withdraw();
    this.markSettled();
  }
}
