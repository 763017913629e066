/**
 * One attempt to deliver one record to one member. It is at once the Delivery the member gets,
 * the attempt's lease (in the group's LeaseQueue) and what the delivery's settlements go
 * through, so an attempt costs one object and no closure, map entry or per-member set entry:
 * the attempt is current exactly while its entry's `flight` is this object.
 */
import type { Deadline } from './deadline-queue.js';
import { Delivery } from './delivery.js';
import type { Lease } from './lease-queue.js';
import type { Member } from './member.js';
import type { Entry } from './partition-window.js';

/** What a flight's settlements go to: the group, which checks that the flight is still current. */
export interface FlightOwner {
  readonly topic: string;
  ack(flight: Flight): Promise<void>;
  nack(flight: Flight, delayMs: number | undefined, reason: string | undefined): void;
  extend(flight: Flight, ms: number | undefined): void;
  reject(flight: Flight, reason: string): Promise<void>;
}

export type Reach = 'journaling' | 'unjournaled' | 'held' | 'handedOut' | 'givenBack';

export class Flight extends Delivery implements Lease {
  deadlineMs = 0;
  live = false;
  extension: Deadline | undefined = undefined;
  /**
   * How far the delivery got: its attempt is being journaled; the journal write failed, so it
   * will never be handed out (GroupAttempts.handOut); it was announced (`delivered`) but
   * the member's sink holds it unsent (SinkControl.holdUnsent); it reached the member. Taken back
   * before 'handedOut' it is no attempt, and a held one becomes 'givenBack': its record went out
   * again, so the sink must not hand it out any more.
   */
  reach: Reach = 'journaling';

  constructor(
    private readonly owner: FlightOwner,
    readonly entry: Entry,
    readonly member: Member,
    deliveryCount: number,
    /** The entry's attempt was owed (Entry.attemptOwed): given back unsent, it is owed again. */
    readonly owed: boolean,
  ) {
    super(owner.topic, entry.partition, entry.record, deliveryCount);
  }

  /** True while this is the entry's attempt: not settled, expired or taken back. */
  get current(): boolean {
    return this.entry.flight === this;
  }

  protected takenBack(): boolean {
    return !this.current;
  }

  protected settleAck(): Promise<void> {
    return this.owner.ack(this);
  }

  protected settleNack(delayMs: number | undefined, reason: string | undefined): void {
    this.owner.nack(this, delayMs, reason);
  }

  protected settleExtend(ms: number | undefined): void {
    this.owner.extend(this, ms);
  }

  protected settleReject(reason: string): Promise<void> {
    return this.owner.reject(this, reason);
  }
}
