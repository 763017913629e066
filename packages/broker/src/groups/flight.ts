/**
 * One attempt to deliver one record to one member. The same object is the attempt's lease (in
 * the group's LeaseQueue) and the settler its Delivery calls, so a delivery costs two objects
 * (this and the Delivery) and no closure, map entry or per-member set entry: the attempt is
 * current exactly while its entry's `flight` is this object.
 */
import type { Deadline } from './deadline-queue.js';
import type { Delivery, DeliverySettler } from './delivery.js';
import type { Lease } from './lease-queue.js';
import type { Member } from './member.js';
import type { Entry } from './partition-window.js';

/** What a flight's settlements go to: the group, which checks that the flight is still current. */
export interface FlightOwner {
  ack(flight: Flight): Promise<void>;
  nack(flight: Flight, delayMs: number | undefined): void;
  extend(flight: Flight, ms: number | undefined): void;
  reject(flight: Flight, reason: string): Promise<void>;
}

export class Flight implements Lease, DeliverySettler {
  deadlineMs = 0;
  live = false;
  extension: Deadline | undefined = undefined;
  /** False while the attempt is being journaled: taken back then, it never reached the member. */
  handedOut = false;
  /** What the member gets; set right after the flight is made. */
  delivery: Delivery | undefined = undefined;

  constructor(
    private readonly owner: FlightOwner,
    readonly entry: Entry,
    readonly member: Member,
    readonly deliveryCount: number,
  ) {}

  /** True while this is the entry's attempt: not settled, expired or taken back. */
  get current(): boolean {
    return this.entry.flight === this;
  }

  ack(): Promise<void> {
    return this.owner.ack(this);
  }

  nack(_delivery: Delivery, delayMs: number | undefined): void {
    this.owner.nack(this, delayMs);
  }

  extend(_delivery: Delivery, ms: number | undefined): void {
    this.owner.extend(this, ms);
  }

  reject(_delivery: Delivery, reason: string): Promise<void> {
    return this.owner.reject(this, reason);
  }
}
