/**
 * What `subscribe` and `consume` return. A subscription is one member of a group (or one tail
 * reader); its consumer is either a handler (resolve = ack, throw = nack with backoff) or an
 * async iterator.
 *
 *   close()  graceful: nothing new is delivered; waits until what it holds is settled
 *   abort()  a crash: leaves at once; whatever it holds is redelivered to the other members
 */
import type { Delivery } from './delivery.js';
import type { DeliverySink } from './member.js';

export type Handler = (delivery: Delivery) => unknown;

export interface Subscription {
  readonly topic: string;
  readonly group: string | undefined;
  /** The member id in describeGroup and in events. */
  readonly memberId: string | undefined;
  close(): Promise<void>;
  abort(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface MessageStream extends Subscription, AsyncIterable<Delivery> {}

/**
 * Runs the handler for each delivery: returning (or resolving) acks unless the handler settled
 * the delivery itself; throwing (or rejecting) nacks. A synchronous handler costs no promise and
 * no closure.
 */
export function handlerSink(handler: Handler): DeliverySink {
  return (delivery) => {
    let result: unknown;
    try {
      result = handler(delivery);
    } catch {
      nackUnlessSettled(delivery);
      return;
    }
    if (isThenable(result)) result.then(() => ackUnlessSettled(delivery), () => nackUnlessSettled(delivery));
    else ackUnlessSettled(delivery);
  };
}

/**
 * An ack whose journal write failed is not an error of the handler: the record simply comes back
 * after a restart. The promise is dropped without a catch of its own, because it is the journal
 * flush's shared promise, which the journal marks handled (group-journal.ts, flush).
 */
function ackUnlessSettled(delivery: Delivery): void {
  if (!delivery.settled) void delivery.ack();
}

function nackUnlessSettled(delivery: Delivery): void {
  if (!delivery.settled) delivery.nack();
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/**
 * A queue between the engine and a `for await` loop. It never holds more than the member's
 * maxInFlight deliveries, because the engine delivers no more than that unacked.
 */
export class DeliveryQueue {
  private readonly items: Delivery[] = [];
  private waiter: { resolve: (result: IteratorResult<Delivery>) => void; reject: (error: unknown) => void } | undefined;
  private ended = false;
  /** Why the broker ended the stream (its topic was deleted, the broker closed): thrown once by next(). */
  private failure: unknown;

  readonly sink: DeliverySink = (delivery) => {
    if (this.ended) return; // a member the broker ended while it joined: its deliveries come back by lease
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve({ value: delivery, done: false });
    } else {
      this.items.push(delivery);
    }
  };

  next(): Promise<IteratorResult<Delivery>> {
    const item = this.items.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.ended) {
      const failure = this.failure;
      this.failure = undefined;
      return failure === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(failure);
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Ends the stream: quietly when its consumer left, with `error` when the broker ended it. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.items.length = 0;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (!waiter) this.failure = error;
    else if (error === undefined) waiter.resolve({ value: undefined, done: true });
    else waiter.reject(error);
  }
}
