/**
 * A member of a group: one subscription's consumer, with its own flow-control window
 * (`maxInFlight`). Which deliveries it holds is on the entries (their flights), not here: a
 * member leaving is rare, a delivery is not, so leave() pays for the search instead of every
 * delivery paying for a set entry.
 */
import type { Delivery } from './delivery.js';
import type { Flight } from './flight.js';

export type DeliverySink = (delivery: Delivery) => void;

export class Member {
  /** Deliveries handed out (or being handed out) and not yet settled or revoked; reserved when
   * a record is assigned, so one pump never over-assigns. */
  inFlight = 0;
  /** Closing members get nothing new; left members are gone. */
  closing = false;
  left = false;
  /**
   * Its sink cannot take more for now (the wire server's socket is congested, or a consume()
   * loop has maxInFlight deliveries waiting unread: SinkControl): it gets nothing new, so the
   * group gives the records to members that can take them ('partition': its partitions wait).
   * The sink that paused it resumes it and runs the group's pump.
   */
  paused = false;
  /**
   * 'partition': the lease of a delivery it held ran out, so the group counts it as lost and
   * deals its partitions to the members that are not (DESIGN.md: rebalance on lease loss) until it
   * settles something again (ack, nack, extend or reject, even of a delivery gone stale), or its
   * client says its consumer can take the next message (settle `alive`: what it had not seen was
   * dropped unsettled): proof that its handler runs. It keeps its credit; it owns nothing to use it on.
   */
  leaseLost = false;
  /**
   * Told when a delivery that reached it ('handedOut') is taken back unsettled (lease expiry,
   * rebalance, go-back, a reset, retention, its leaving): the wire server tells its client
   * (TAKEN_BACK), naming the one taken back, so that finding it costs nothing per delivery still
   * held. Not called for settlements, so an ack costs nothing more.
   */
  onTakenBack: ((flight: Flight) => void) | undefined = undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly name: string,
    readonly maxInFlight: number,
    readonly joinSeq: number,
    readonly sink: DeliverySink,
  ) {}

  get credit(): number {
    return this.closing || this.left || this.paused ? 0 : this.maxInFlight - this.inFlight;
  }

  release(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) {
      for (const wake of this.idleWaiters) wake();
      this.idleWaiters = [];
    }
  }

  /** Resolves once nothing is in flight (graceful close waits for this). */
  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
