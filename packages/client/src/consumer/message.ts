/**
 * One delivery of one record to this client, and the four ways to settle it:
 *
 *   ack()             done; resolves once the broker has made the ack durable
 *   nack({ delayMs, reason })  redeliver after a delay (default: the group's backoff for this
 *                     attempt); `reason`: what failed, for the broker's `nacked` event and the
 *                     dead-letter reason should the record run out of attempts
 *   extend(ms)        still working: renew the lease (default: ackTimeoutMs from now)
 *   reject(reason)    dead-letter now
 *
 * The first of ack / nack / reject wins; later calls return the first one's promise. Settlements
 * are not sent one by one: the subscription's SettleBatcher collects them and sends one settle
 * request per tick, acks as id ranges. A message the broker took back before its ack or reject
 * arrived (its lease expired, a rebalance moved it) is stale: that ack() or reject() rejects with
 * DELIVERY_STALE (it did nothing; the record comes again). A message from a connection that has
 * since dropped is redelivered too, and settling it sends nothing: ack() and reject() reject
 * with DISCONNECTED (a tail reader's resolve: it keeps no acks, and nothing comes again). A message of a subscription its consumer ended (close(), abort(), a loop
 * left) was taken back when the member left: its ack() and reject() reject with DELIVERY_STALE,
 * as in process. Stale nack() and extend() resolve. So a resolved ack() always means a
 * durable ack. A bad argument (see refusedSettlement) rejects that one call with INVALID_REQUEST
 * before anything is batched, as the broker's Delivery does: it settles nothing, and the
 * settlements batched beside it are not refused with it.
 */
import { boundedReason, recordReading, refusedNackOptions, refusedSettlement, type RecordHeader } from '@brook/protocol';

/**
 * Settlements (ack, nack, reject) made by any message so far, counted after each one makes its
 * message `settled`: the handler window (handler-window.ts) looks for settled handlers again only
 * once this has moved.
 */
let settlementsMade = 0;

/** @internal See settlementsMade. */
export function settlementCount(): number {
  return settlementsMade;
}

/** What a message settles through: its subscription's batcher, for the session it came on. */
export interface Settler {
  readonly topic: string;
  ack(message: Message): Promise<void>;
  nack(message: Message, delayMs: number | null, reason: string | undefined): Promise<void>;
  extend(message: Message, ms: number | null): Promise<void>;
  reject(message: Message, reason: string): Promise<void>;
  release(message: Message): Promise<void>;
  /** Whether the broker took the message's delivery back (see Message.stale). */
  takenBack(message: Message): boolean;
}


export class Message {
  private settlement: Promise<void> | undefined;

  constructor(
    private readonly settler: Settler,
    /** The connection session the message came on; settling a message of an older one is a no-op. */
    readonly session: number,
    /** Per-connection delivery id (docs/protocol.md, DELIVER). */
    readonly deliveryId: number,
    readonly partition: number,
    readonly offset: bigint,
    /** Attempts so far in this group, this one included: 1 on first delivery. */
    readonly deliveryCount: number,
    /** Milliseconds since the epoch, as the producer stamped it. */
    readonly timestamp: number,
    readonly key: Uint8Array | null,
    /** The raw bytes; see text() and json() for decoded forms. */
    readonly value: Uint8Array | null,
    readonly headers: readonly RecordHeader[],
    /** @internal When it reached this client (the client's clock's monotonicMs()): UnseenLeases gives it back unseen before its lease runs out. */
    readonly receivedAtMs = 0,
  ) {}

  get topic(): string {
    return this.settler.topic;
  }

  /** True if an earlier delivery was not acked (nacked, lease expired, consumer gone, or taken back by a 'partition' go-back or rebalance). */
  get redelivered(): boolean {
    return this.deliveryCount > 1;
  }

  /**
   * True if the broker took this delivery back before it was settled, as Delivery.stale in
   * process: it said so (TAKEN_BACK: the lease ran out, a rebalance or a 'partition' go-back, a
   * reset), or the connection it came on was lost, or its subscription ended (a group member's;
   * a tail reader's deliveries are never taken back). Its ack() and reject() then reject with
   * DELIVERY_STALE (DISCONNECTED after a lost connection) and the record comes again. False once
   * settled. A message taken back before the consumer saw it is never handed to it.
   */
  get stale(): boolean {
    return this.settlement === undefined && this.settler.takenBack(this);
  }

  /** True once ack, nack or reject was called. */
  get settled(): boolean {
    return this.settlement !== undefined;
  }

  ack(): Promise<void> {
    this.settlement ??= this.settler.ack(this);
    settlementsMade += 1;
    return this.settlement;
  }

  nack(options: { delayMs?: number; reason?: string } = {}): Promise<void> {
    const refused = refusedNackOptions(options);
    if (refused) return refused;
    const { delayMs, reason } = options;
    this.settlement ??= this.settler.nack(this, delayMs ?? null, reason === undefined ? undefined : boundedReason(reason));
    settlementsMade += 1;
    return this.settlement;
  }

  /** Renews the lease: `ms` from now, or the group's ackTimeoutMs. Does nothing once settled. */
  extend(ms?: number): Promise<void> {
    const refused = refusedSettlement('ms', ms);
    if (refused) return refused;
    return this.settlement ?? this.settler.extend(this, ms ?? null);
  }

  reject(reason: string): Promise<void> {
    const refused = refusedSettlement('reason', reason);
    if (refused) return refused;
    this.settlement ??= this.settler.reject(this, boundedReason(reason));
    settlementsMade += 1;
    return this.settlement;
  }

  /**
   * @internal For the library, not its users: the message never reached the consumer (a queue
   * let it go unread, or a close found it waiting), so the broker takes it back without counting
   * an attempt (a nack would count one, and could dead-letter a record nobody saw).
   */
  releaseUnread(): void {
    // Not counted in settlementsMade: a message released unread never held a handler's place.
    this.settlement ??= this.settler.release(this);
  }

  /** The value as UTF-8 text (null for a null value). */
  text(): string | null {
    return recordReading.text(this.value);
  }

  /** The value parsed as JSON (null for a null value). */
  json<T = unknown>(): T {
    return recordReading.json<T>(this.value);
  }

  /** The value of the first header named `key`: undefined if absent, null if its value is null. */
  header(key: string): Uint8Array | null | undefined {
    return recordReading.header(this.headers, key);
  }
}
