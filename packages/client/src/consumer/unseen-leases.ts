/**
 * Gives back what waits unseen in a subscription's sink (a consume() loop's queue not read yet,
 * messages waiting for a handler's place) before the broker's lease on it runs out. The broker
 * handed those deliveries out, so a lease that ran out on one would count as a failed attempt
 * (and at maxDeliveries dead-letter the record) although no consumer ever saw it. Released
 * (Message.releaseUnread) a little before, the record goes out again with the same
 * deliveryCount, as the in-process broker gives back what its own loop's queue holds unsent.
 *
 * The lease is the group's ackTimeoutMs, named by the subscribe answer. It runs from when the
 * broker handed the delivery out, a little before this client received it, so the release goes
 * HOLD_MARGIN before the lease would end counted from the receipt: a quarter of the lease, at most
 * 2 s, so that the release crosses the network in time. A release that arrives too late anyway
 * does nothing (the delivery is stale) and the attempt counts, as before.
 *
 * One timer, for the oldest message waiting: the sink is in arrival order, so nothing else can be
 * due first. A message read before its time leaves the timer to fire early for nothing and move
 * on to the next oldest.
 */
import type { Clock, Timer } from '@brook/protocol';
import type { MessageSink } from './message-sink.js';

/** The release goes this long before the lease would end counted from the receipt, at most. */
const HOLD_MARGIN_MS_MAX = 2_000;

/** How long a message may wait unseen before it is given back: the lease less the margin. */
function holdMs(leaseMs: number): number {
  return leaseMs - Math.min(Math.ceil(leaseMs / 4), HOLD_MARGIN_MS_MAX);
}

export class UnseenLeases {
  private holdMs: number | undefined;
  private timer: Timer | undefined;

  constructor(private readonly clock: Clock, private readonly sink: MessageSink) {}

  /** At each (re)subscribe: the group's lease from the answer; undefined (a tail reader, an older server) watches nothing. */
  setLease(leaseMs: number | undefined): void {
    this.cancel();
    this.holdMs = leaseMs === undefined ? undefined : holdMs(leaseMs);
  }

  /** After a DELIVER frame: watches the oldest message waiting, unless a timer already does. */
  watch(): void {
    if (this.timer === undefined && this.holdMs !== undefined) this.arm(this.holdMs);
  }

  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(holdMs: number): void {
    const oldest = this.sink.oldestUnseen();
    if (oldest === undefined) return;
    const delayMs = Math.max(0, oldest.receivedAtMs + holdMs - this.clock.monotonicMs());
    this.timer = this.clock.setTimer(delayMs, () => this.giveBackDue(holdMs));
  }

  private giveBackDue(holdMs: number): void {
    this.timer = undefined;
    const receivedBy = this.clock.monotonicMs() - holdMs;
    for (const message of this.sink.takeUnseen((waiting) => waiting.receivedAtMs <= receivedBy)) message.releaseUnread();
    this.arm(holdMs);
  }
}
