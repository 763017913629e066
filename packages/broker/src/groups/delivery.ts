/**
 * One delivery of one record to one consumer: the record, its attempt number, and the four ways
 * to settle it (nats.js's ack / nak / working / term, under the glossary's names):
 *
 *   ack()           done; resolves once the ack is durable per the fsync policy
 *   nack({delayMs}) redeliver after a backoff (default: the group's backoff for this attempt)
 *   extend(ms)      still working: renew the lease (default: ackTimeoutMs from now)
 *   reject(reason)  dead-letter now; resolves once it is in the dead-letter topic
 *
 * The first settlement wins; later calls are no-ops. A delivery that was revoked (its lease
 * expired, its member left, a go-back redelivered it) is stale: settling it does nothing, and the
 * record comes again as a new delivery.
 */
import { recordReading, type LogRecord, type RecordHeader } from '@brook/protocol';

export interface DeliverySettler {
  ack(delivery: Delivery): Promise<void>;
  nack(delivery: Delivery, delayMs: number | undefined): void;
  extend(delivery: Delivery, ms: number | undefined): void;
  reject(delivery: Delivery, reason: string): Promise<void>;
}


export class Delivery {
  readonly offset: bigint;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
  readonly timestamp: number;
  private settlement: Promise<void> | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    record: LogRecord,
    /** Attempts so far including this one: 1 on first delivery. */
    readonly deliveryCount: number,
    /** Identifies this attempt: acks of an older attempt are ignored. */
    readonly attemptId: number,
    private readonly settler: DeliverySettler | undefined,
  ) {
    this.offset = record.offset;
    this.key = record.key;
    this.value = record.value;
    this.headers = record.headers;
    this.timestamp = record.timestamp;
  }

  get redelivered(): boolean {
    return this.deliveryCount > 1;
  }

  /** True once ack/nack/reject was called on this delivery. */
  get settled(): boolean {
    return this.settlement !== undefined;
  }

  ack(): Promise<void> {
    this.settlement ??= this.settler ? this.settler.ack(this) : Promise.resolve();
    return this.settlement;
  }

  nack(options: { delayMs?: number } = {}): void {
    if (this.settlement) return;
    this.settlement = Promise.resolve();
    this.settler?.nack(this, options.delayMs);
  }

  extend(ms?: number): void {
    if (!this.settlement) this.settler?.extend(this, ms);
  }

  reject(reason: string): Promise<void> {
    this.settlement ??= this.settler ? this.settler.reject(this, reason) : Promise.resolve();
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
}
