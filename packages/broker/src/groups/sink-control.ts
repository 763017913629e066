/**
 * What a sink that holds deliveries before they reach its consumer tells the engine
 * (Broker.attach). The wire server is one: behind a congested socket it cannot send; the queue of
 * an in-process consume() loop is another (DeliveryQueue), until the loop reads. Without
 * telling, its member would keep taking its share of records only to hold them unsent until their
 * leases ran out, each counted as a failed attempt (and dead-lettered at maxDeliveries) although
 * the consumer never saw it.
 *
 *   pause()       the member gets nothing new: its credit counts as 0 until resume()
 *   holdUnsent()  these deliveries wait unsent: taken back meanwhile (lease expiry, leave, ...),
 *                 they are no attempt, and the record goes out again with the same deliveryCount
 *   sent()        held deliveries just sent: from now on they are attempts like any other
 *   givenBack()   whether a held delivery was taken back meanwhile: its record went out again
 *                 (a `redelivered` event, 'unsent'), so it must not be sent
 *   release()     sent deliveries the consumer let go unread (a client's queue): given back as
 *                 if held unsent, no attempt
 *   onTakenBack() calls `listener` with each delivery the sink was handed (not one it holds
 *                 unsent) is taken back unsettled: its consumer may still hold it (the wire server
 *                 tells its client, which can then drop it unread)
 *   consumerSettled()  the consumer settled deliveries, current or stale (those the sink no
 *                 longer holds too), or can take the next message (a client's settle `alive`):
 *                 it runs, so a 'partition' member that lost a lease gets its share again
 *                 (docs/semantics.md)
 *
 * A tail reader takes no one's records and its deliveries never expire: nothing to tell, except
 * a release, which frees the slots of its deliveries as settling them would (nothing comes again).
 */
import type { Delivery } from './delivery.js';
import { Flight, type Reach } from './flight.js';
import type { Joined } from './group-coordinator.js';
import type { Subscription } from './subscription.js';

export interface SinkControl {
  pause(): void;
  resume(): void;
  holdUnsent(deliveries: readonly Delivery[]): void;
  sent(deliveries: readonly Delivery[]): void;
  givenBack(delivery: Delivery): boolean;
  consumerSettled(): void;
  onTakenBack(listener: (delivery: Delivery) => void): void;
  release(deliveries: readonly Delivery[]): void;
}

/** What Broker.attach returns: the subscription, and what its sink may tell the engine. */
export interface AttachedSubscription extends Subscription, SinkControl {
  /**
   * The lease of its deliveries (the group's ackTimeoutMs; undefined for a tail reader): a sink
   * further down that holds deliveries for its consumer (a client's queue) releases them before
   * it runs out, or each would count as a failed attempt the consumer never saw.
   */
  readonly ackTimeoutMs: number | undefined;
}

const TAIL_READER_CONTROL: SinkControl = {
  pause() {}, resume() {}, holdUnsent() {}, sent() {}, givenBack: () => false, consumerSettled() {}, onTakenBack() {},
  // Its slot must come back, or each release would shrink the reader's window for good. Nack is
  // the settlement that does only that; one settled already is left as it is.
  release: (deliveries) => {
    for (const delivery of deliveries) void delivery.nack();
  },
};

/** The control of a joined member; a tail reader's only frees slots. */
export function sinkControl(joined: Joined): SinkControl {
  if (joined.kind === 'reader') return TAIL_READER_CONTROL;
  const { group, member } = joined;
  const own = (delivery: Delivery): delivery is Flight => delivery instanceof Flight && delivery.member === member;
  const mark = (deliveries: readonly Delivery[], reach: Reach): void => {
    for (const delivery of deliveries) {
      // Only current attempts: one settled or taken back meanwhile is the record's past.
      if (own(delivery) && delivery.current) delivery.reach = reach;
    }
  };
  return {
    pause: () => {
      member.paused = true;
    },
    resume: () => {
      if (!member.paused) return;
      member.paused = false;
      group.schedulePump();
    },
    holdUnsent: (deliveries) => mark(deliveries, 'held'),
    sent: (deliveries) => mark(deliveries, 'handedOut'),
    givenBack: (delivery) => own(delivery) && delivery.reach === 'givenBack',
    consumerSettled: () => group.heardFrom(member),
    onTakenBack: (listener) => {
      member.onTakenBack = listener;
    },
    release: (deliveries) => {
      // All of them first: in 'partition' giving one back takes back what the member holds
      // after it (go-back), and a released one among those is no attempt either.
      mark(deliveries, 'held');
      for (const delivery of deliveries) if (own(delivery)) group.release(delivery);
    },
  };
}
