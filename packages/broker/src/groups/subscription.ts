/**
 * What `subscribe` and `consume` return. A subscription is one member of a group (or one tail
 * reader); its consumer is either a handler (resolve = ack, throw = nack with backoff) or an
 * async iterator.
 *
 *   close()  graceful: nothing new is delivered; waits until what it holds is settled
 *   abort()  a crash: leaves at once; whatever it holds is redelivered to the other members
 *
 * A tail reader keeps no acks and redelivers nothing, so both leave at once: nothing waits on what
 * it holds (a handler still running may finish after close() resolved). Waiting would have no end
 * over the wire, where a reader's held message has no lease to run out.
 */
import { AsyncQueue, failureReason, type BrookError } from '@brook/protocol';
import type { Delivery } from './delivery.js';
import type { DeliverySink } from './member.js';
import type { SinkControl } from './sink-control.js';
import type { SubscribeOptions } from './subscribe-options.js';

export type Handler = (delivery: Delivery) => unknown;

export interface Subscription {
  readonly topic: string;
  readonly group: string | undefined;
  /**
   * The member id in describeGroup and in events; a tail reader's id (`reader-1`, ...), which
   * names it in `retentionDropped`. Undefined only while a consume() loop is still joining.
   */
  readonly memberId: string | undefined;
  /**
   * A tail reader's records that retention deleted before it handed them out, over all its
   * partitions (each loss also a `retentionDropped` event with `reader`). Undefined for a group
   * member: a group's losses are its own, in describeGroup's `lostToRetention`.
   */
  readonly lostToRetention: bigint | undefined;
  close(): Promise<void>;
  abort(): void;
  [Symbol.asyncDispose](): Promise<void>;
  /**
   * Settles once the subscription has ended: resolves when its consumer ended it (close(),
   * abort(), leaving a loop), rejects when the broker did: UNKNOWN_TOPIC when its topic was
   * deleted, CLOSED when the broker closed. A handler never learns that otherwise. Marked
   * handled: nobody has to look.
   */
  readonly ended: Promise<void>;
}

export interface MessageStream extends Subscription, AsyncIterable<Delivery> {
  /**
   * Resolves once the member (or reader) has joined; rejects with the refusal (UNKNOWN_TOPIC,
   * INVALID_CONFIG, ...), which the loop's next() throws too, as the client's stream does. Marked
   * handled: nobody has to look.
   */
  readonly ready: Promise<void>;
}

/**
 * Runs the handler for each delivery: returning (or resolving) acks unless the handler settled
 * the delivery itself; throwing (or rejecting) nacks, with what it threw as the reason
 * (failureReason). A synchronous handler costs no promise and no closure.
 */
export function handlerSink(handler: Handler): DeliverySink {
  return (delivery) => {
    let result: unknown;
    try {
      result = handler(delivery);
    } catch (error) {
      nackUnlessSettled(delivery, error);
      return;
    }
    if (!isThenable(result)) {
      ackUnlessSettled(delivery);
      return;
    }
    // Not result.then(): a thenable's own then() may throw, and that would unwind into the engine.
    Promise.resolve(result).then(() => ackUnlessSettled(delivery), (error: unknown) => nackUnlessSettled(delivery, error));
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

function nackUnlessSettled(delivery: Delivery, error: unknown): void {
  if (!delivery.settled) void delivery.nack({ reason: failureReason(error) });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/**
 * The queue between the engine and a `for await` loop (AsyncQueue), and what it tells the engine
 * (SinkControl, as the wire server does for a congested socket). A delivery waiting here has not
 * reached the loop: it is held unsent, so taken back meanwhile (its lease runs out, the loop is
 * left, a rebalance) it is no attempt, and next() skips it (SinkControl.givenBack); once next()
 * returns it, it is an attempt like any other. A member the broker ended while it joined gets no
 * more: what still comes is held unsent too, and goes back as no attempt.
 *
 * Once maxInFlight deliveries wait unread (given-back ones included: the loop has not read for a
 * whole lease), the member is paused, so records go to members that read and none piles up here:
 * the queue never holds more than maxInFlight. A next() that leaves fewer waiting resumes it.
 */
export class DeliveryQueue extends AsyncQueue<Delivery> {
  /** Undefined until the member (or reader) has joined. */
  private control: SinkControl | undefined;

  constructor(private readonly maxInFlight: number) {
    super();
  }

  /** Joined: what came before the join finished waits unsent too. */
  attach(control: SinkControl): void {
    this.control = control;
    control.holdUnsent(this.queued());
    this.pauseIfFull();
  }

  readonly sink: DeliverySink = (delivery) => {
    const waiting = this.size;
    // Straight to a next() waiting for it: it reached the loop.
    if (this.push(delivery) && this.size === waiting) return;
    this.control?.holdUnsent([delivery]);
    this.pauseIfFull();
  };

  override next(): Promise<IteratorResult<Delivery>> {
    const next = super.next();
    if (this.size < this.maxInFlight) this.control?.resume();
    return next;
  }

  /**
   * Taken back while it waited: the engine gave its record out again, without counting it (a
   * `redelivered` event, 'unsent'). One a reset or retention made stale still comes, stale.
   */
  protected override passed(delivery: Delivery): boolean {
    return this.control?.givenBack(delivery) ?? false;
  }

  protected override taken(delivery: Delivery): void {
    this.control?.sent([delivery]);
  }

  private pauseIfFull(): void {
    if (this.size >= this.maxInFlight) this.control?.pause();
  }
}

/** How a subscription's `ended` settles: by its consumer (resolve) or by the broker (reject). */
export interface Ending {
  readonly ended: Promise<void>;
  byConsumer(): void;
  byBroker(error: BrookError): void;
}

export function subscriptionEnding(): Ending {
  let resolve: () => void = () => undefined;
  let reject: (error: BrookError) => void = () => undefined;
  const ended = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  ended.catch(() => undefined);
  return { ended, byConsumer: resolve, byBroker: reject };
}

/** Who a subscription is, read live: its member (or reader), with a reader's count of records lost to retention. */
interface SubscriptionIdentity {
  readonly id: string;
  readonly lostToRetention?: bigint;
}

/**
 * The handle of a joined member or tail reader: `leave` takes it out (gracefully: once what it
 * holds is settled), `onEnd` runs when its consumer ends it, and `live` lets the broker end it.
 * `endsItself` is given the way for the broker to end this one alone (a reader that cannot read on).
 */
export function subscriptionHandle(
  options: Pick<SubscribeOptions, 'topic' | 'group'>, live: LiveSubscriptions, identity: SubscriptionIdentity,
  leave: (graceful: boolean) => Promise<void>, onEnd?: () => void, endsItself?: (endByBroker: (error: BrookError) => void) => void,
): Subscription {
  const end = subscriptionEnding();
  const unregister = live.add(options.topic, end.byBroker);
  endsItself?.((error) => {
    if (!live.has(end.byBroker)) return; // ended already
    unregister();
    end.byBroker(error);
  });
  const leaving = async (graceful: boolean): Promise<void> => {
    unregister();
    onEnd?.();
    try {
      await leave(graceful);
    } finally {
      end.byConsumer();
    }
  };
  return {
    topic: options.topic,
    group: options.group,
    memberId: identity.id,
    get lostToRetention() {
      return identity.lostToRetention;
    },
    close: () => leaving(true),
    abort: () => void leaving(false),
    [Symbol.asyncDispose]: () => leaving(true),
    ended: end.ended,
  };
}

/**
 * Every subscription not yet ended, with its topic: what deleteTopic and close() end, each with
 * its error (a consume() loop's next() throws it; a subscription's `ended` rejects with it).
 */
export class LiveSubscriptions {
  private readonly live = new Map<(error: BrookError) => void, string>();

  /** Registers `endByBroker` until the returned function is called (the consumer ended it). */
  add(topic: string, endByBroker: (error: BrookError) => void): () => void {
    this.live.set(endByBroker, topic);
    return () => void this.live.delete(endByBroker);
  }

  has(endByBroker: (error: BrookError) => void): boolean {
    return this.live.has(endByBroker);
  }

  /** Ends the subscriptions of `topic` (of every topic if undefined) with `error`. */
  end(topic: string | undefined, error: BrookError): void {
    for (const [endByBroker, liveTopic] of this.live) {
      if (topic !== undefined && liveTopic !== topic) continue;
      this.live.delete(endByBroker);
      endByBroker(error);
    }
  }
}

/**
 * The async-iterator form of a subscription: `handleFor` makes the handle of the member (or
 * reader) once `joining` has joined. Its close(), like leaving the loop early, leaves at once:
 * deliveries not yet acked (pulled or still queued) are redelivered to other members.
 */
export function messageStream<Joined>(
  options: Pick<SubscribeOptions, 'topic' | 'group'>, live: LiveSubscriptions, queue: DeliveryQueue, joining: Promise<Joined>,
  handleFor: (joined: Joined, onEnd: () => void) => Subscription,
): MessageStream {
  let handle: Subscription | undefined;
  let failure: unknown;
  const end = subscriptionEnding();
  // Registered before the join finishes, so that a topic deleted or a broker closed meanwhile
  // ends this stream too.
  const endByBroker = (error: BrookError): void => {
    queue.end(error);
    end.byBroker(error);
  };
  const unregister = live.add(options.topic, endByBroker);
  const ready = joining.then((joined) => {
    const endedMeanwhile = !live.has(endByBroker);
    handle = handleFor(joined, () => {
      unregister();
      queue.end();
    });
    // Ended by the broker with the rest of its topic (or broker), `live` ended the stream first;
    // ended alone (a reader that cannot read on), the stream ends with it.
    void handle.ended.then(end.byConsumer, (error: BrookError) => {
      if (!live.has(endByBroker)) return;
      unregister();
      endByBroker(error);
    });
    if (endedMeanwhile) handle.abort();
  }, (error: unknown) => {
    unregister();
    failure = error;
    // The loop's next() throws it once, then is done, as after an end by the broker.
    queue.end(error);
    end.byBroker(error as BrookError);
  });
  const accepted = ready.then(() => {
    if (failure) throw failure;
  });
  accepted.catch(() => undefined);
  // Ending a loop that was refused has nothing to leave: it resolves, as the client's does, so
  // the refusal comes once (from next() and ready), not again from `await using` as a
  // SuppressedError hiding its code.
  const leave = async (): Promise<void> => {
    await ready;
    handle?.abort();
  };
  return {
    topic: options.topic,
    group: options.group,
    ready: accepted,
    get memberId() {
      return handle?.memberId;
    },
    // A tail reader's is 0n before it has joined too, as the client's is: it has lost nothing yet.
    get lostToRetention() {
      return options.group === undefined ? (handle?.lostToRetention ?? 0n) : undefined;
    },
    close: leave,
    // At once once joined, as the client's abort() is: an ack() right after it finds its delivery taken back.
    abort: () => (handle ? handle.abort() : void leave()),
    [Symbol.asyncDispose]: leave,
    ended: end.ended,
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        await ready;
        return queue.next();
      },
      return: async () => {
        await leave();
        return { value: undefined, done: true };
      },
    }),
  };
}
