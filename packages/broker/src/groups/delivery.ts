/**
 * One delivery of one record to one consumer: the record, its attempt number, and the four ways
 * to settle it (nats.js's ack / nak / working / term, under the glossary's names):
 *
 *   ack()           done; resolves once the ack is durable per the fsync policy (stale: rejects)
 *   nack({delayMs, reason})  redeliver after a backoff (default: the group's backoff for this
 *                   attempt); `reason` (what failed) goes to the `nacked` event and, if the
 *                   record runs out of attempts, into its dead-letter reason
 *   extend(ms)      still working: renew the lease (default: ackTimeoutMs from now)
 *   reject(reason)  dead-letter now; resolves once it is in the dead-letter topic, or once its
 *                   copy failed and waits to be tried again (describeGroup's lastError says why):
 *                   either way the record is given up on and never delivered again
 *
 * The first settlement wins; later calls return its promise. All four return promises, as the
 * client's Message does, so code written against either runs against the other. A delivery that
 * was taken back before it was settled (its lease expired, its member left, a rebalance or a
 * go-back redelivered it) is stale: settling it does nothing, and the record comes again as a
 * new delivery. Its ack() and reject() say so: they reject with DELIVERY_STALE, so a resolved
 * ack() always means a durable ack. Its nack() and extend() resolve: the redelivery they would
 * ask for is already under way. A bad argument (a delayMs or ms that is not an integer in
 * [0, SETTLE_MS_MAX], a reason that is not a string; a longer reason than
 * DEAD_LETTER_REASON_BYTES_MAX is cut, not refused) rejects that call with INVALID_REQUEST and
 * settles nothing, as over the wire. The rejection is marked handled (a handler's implicit ack, or
 * `void delivery.ack()`, must not become an unhandled rejection); whoever awaits it gets it.
 */
import { boundedReason, recordReading, refusedNackOptions, refusedSettlement, type RecordHeader, type StoredRecord } from '@brook/protocol';

/** The key of Delivery's sink id (see there); for the engine's sinks only, never exported from index.ts. */
export const SINK_ID: unique symbol = Symbol('brook.sinkId');

/** What a nack or an extend resolves with: there is nothing to wait for. */
const SETTLED = Promise.resolve();

/**
 * The public face of an attempt. The engine's two kinds of delivery extend it: a group's Flight
 * (which is also the attempt's lease, so an attempt costs one object) and a tail reader's
 * delivery; each says what settling means through the four protected hooks. Offset and timestamp
 * are read through to the decoded record; key, value and headers are copied at their first read,
 * since the record's bytes may be the log's own, shared by every reader (a `shared` read).
 */
export abstract class Delivery {
  private settlement: Promise<void> | undefined;
  /** The consumer's copies of key, value and headers, made at their first read (undefined: not yet). */
  private keyCopy: Uint8Array | null | undefined = undefined;
  private valueCopy: Uint8Array | null | undefined = undefined;
  private headersCopy: readonly RecordHeader[] | undefined = undefined;
  /**
   * For the sink, not consumers: the id the sink handed it on under (the wire server's delivery
   * id; -1: none yet), so that a take-back finds it without a search or a map entry. Keyed by a
   * symbol the package does not export, so it is no part of the Delivery consumers see.
   */
  [SINK_ID] = -1;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /**
     * @internal The record as the log stores it: the server copies its bytes into DELIVER frames.
     * Its bytes may be shared with every other reader of the log (a `shared` read), so nothing
     * may write them: consumers get copies (key, value, headers).
     */
    readonly record: StoredRecord,
    /** Attempts so far including this one: 1 on first delivery. */
    readonly deliveryCount: number,
  ) {}

  get offset(): bigint {
    return this.record.offset;
  }

  /** A copy the consumer owns, as value and headers: writing it changes nothing the broker keeps. */
  get key(): Uint8Array | null {
    // A StoredRecord's key and value are copies at each read: kept, so every read is the same one.
    if (this.keyCopy === undefined) this.keyCopy = this.record.key;
    return this.keyCopy;
  }

  get value(): Uint8Array | null {
    if (this.valueCopy === undefined) this.valueCopy = this.record.value;
    return this.valueCopy;
  }

  get headers(): readonly RecordHeader[] {
    // A StoredRecord decodes its headers from its bytes at each read, values copies the reader
    // owns (the frozen shared list for none): kept, so every read is that one and decodes nothing.
    if (this.headersCopy === undefined) this.headersCopy = this.record.headers;
    return this.headersCopy;
  }

  get timestamp(): number {
    return this.record.timestamp;
  }

  get redelivered(): boolean {
    return this.deliveryCount > 1;
  }

  /** True once ack/nack/reject was called on this delivery. */
  get settled(): boolean {
    return this.settlement !== undefined;
  }

  /** True if the broker took this delivery back before it was settled (see the file comment). */
  get stale(): boolean {
    return this.settlement === undefined && this.takenBack();
  }

  ack(): Promise<void> {
    this.settlement ??= this.settleAck();
    return this.settlement;
  }

  /** Resolves at once: a nack has nothing to make durable (the attempt was journaled when it began). */
  nack(options: { delayMs?: number; reason?: string } = {}): Promise<void> {
    const refused = refusedNackOptions(options);
    if (refused) return refused;
    if (this.settlement) return this.settlement;
    this.settlement = SETTLED;
    const { delayMs, reason } = options;
    this.settleNack(delayMs, reason === undefined ? undefined : boundedReason(reason));
    return SETTLED;
  }

  /** Renews the lease: `ms` from now, or the group's ackTimeoutMs. Does nothing once settled. */
  extend(ms?: number): Promise<void> {
    const refused = refusedSettlement('ms', ms);
    if (refused) return refused;
    if (this.settlement) return this.settlement;
    this.settleExtend(ms);
    return SETTLED;
  }

  reject(reason: string): Promise<void> {
    const refused = refusedSettlement('reason', reason);
    if (refused) return refused;
    this.settlement ??= this.settleReject(reason);
    return this.settlement;
  }

  text(): string | null {
    return recordReading.text(this.value);
  }

  json<T = unknown>(): T {
    return recordReading.json<T>(this.value);
  }

  header(key: string): Uint8Array | null | undefined {
    return recordReading.header(this.headers, key);
  }

  /** True once the attempt is no longer the record's current one (for a tail reader: never). */
  protected abstract takenBack(): boolean;

  /** Each is called at most once, and only for the first settlement (extend: until one). */
  protected abstract settleAck(): Promise<void>;
  protected abstract settleNack(delayMs: number | undefined, reason: string | undefined): void;
  protected abstract settleExtend(ms: number | undefined): void;
  protected abstract settleReject(reason: string): Promise<void>;
}

