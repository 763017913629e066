/**
 * What a sink that holds deliveries before they reach its consumer tells the engine
 * (Broker.attach). The wire server is one: behind a congested socket it cannot send, and without
 * telling, its member would keep taking its share of records only to hold them unsent until their
 * leases ran out, each counted as a failed attempt (and dead-lettered at maxDeliveries) although
 * the consumer never saw it.
 *
 *   pause()       the member gets nothing new: its credit counts as 0 until resume()
 *   holdUnsent()  these deliveries wait unsent: taken back meanwhile (lease expiry, leave, ...),
 *                 they are no attempt, and the record goes out again with the same deliveryCount
 *   sent()        held deliveries just sent: from now on they are attempts like any other
 *
 * A tail reader takes no one's records and its deliveries never expire: nothing to tell.
 */
import type { Delivery } from './delivery.js';
import { Flight, type Reach } from './flight.js';
import type { Group } from './group.js';
import type { Member } from './member.js';
import type { Subscription } from './subscription.js';

export interface SinkControl {
  pause(): void;
  resume(): void;
  holdUnsent(deliveries: readonly Delivery[]): void;
  sent(deliveries: readonly Delivery[]): void;
}

/** What Broker.attach returns: the subscription, and what its sink may tell the engine. */
export interface AttachedSubscription extends Subscription, SinkControl {}

const NOTHING_TO_TELL: SinkControl = { pause() {}, resume() {}, holdUnsent() {}, sent() {} };

/** The control of `member` of `group`; undefined: a tail reader's, which does nothing. */
export function sinkControl(joined: { group: Group; member: Member } | undefined): SinkControl {
  if (!joined) return NOTHING_TO_TELL;
  const { group, member } = joined;
  const mark = (deliveries: readonly Delivery[], reach: Reach): void => {
    for (const delivery of deliveries) {
      // Only its own deliveries' attempts: one settled or taken back meanwhile is the record's past.
      if (delivery instanceof Flight && delivery.member === member && delivery.current) delivery.reach = reach;
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
  };
}
