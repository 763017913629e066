/**
 * What one settle keeps while it applies its acks: the journal flushes it must wait for before
 * it answers, and the ids that did nothing, to answer as stale.
 */
import type { IdRanges } from '@brook/protocol';

/**
 * The promises a settle waits for. Every ack of one journal flush returns that flush's one
 * promise, so a settle of a thousand acks holds one or two distinct promises, not a thousand
 * (Promise.all would make a reaction and a closure for each): a promise equal to the one before
 * it is dropped.
 */
export class DurableWaits {
  private readonly distinct: Promise<void>[] = [];

  add(promise: Promise<void>): void {
    if (this.distinct[this.distinct.length - 1] !== promise) this.distinct.push(promise);
  }

  all(): Promise<unknown> {
    return Promise.all(this.distinct);
  }
}

/**
 * The ids of one settle that did nothing, as ranges. Acks come as ranges and their deliveries in
 * id order, so what did not take effect is the gaps between those that did: no id is listed one
 * by one (a bogus range over millions of ids costs one range), and an ack that took effect costs
 * two comparisons. Ranges are added in request order.
 */
export class StaleIds {
  readonly ranges: IdRanges = [];
  /** The first id of the current ack range not yet accounted for. */
  private next = 0;

  startRange(first: number): void {
    this.next = first;
  }

  /** `id`, the next of the current range to take effect (ids only grow within a range). */
  tookEffect(id: number): void {
    if (id > this.next) this.ranges.push([this.next, id - 1]);
    this.next = id + 1;
  }

  /** The current range ends at `last`: what is left of it did nothing. */
  endRange(last: number): void {
    if (this.next <= last) this.ranges.push([this.next, last]);
  }

  add(id: number): void {
    this.ranges.push([id, id]);
  }
}
