/**
 * One connection's subscriptions: subscribe / unsubscribe / settle, and the DELIVER frames.
 *
 * The engine hands deliveries to a sink synchronously; they are buffered per subscription and
 * flushed on a microtask, so one engine step becomes one frame (at most deliverRecordsMax
 * records each) rather than a frame per record. Delivery ids are given out at flush time from one
 * counter per connection, so each frame's ids are consecutive (`first`, `count`).
 *
 * Credit: a group member never holds more than maxInFlight unsettled deliveries (the engine's
 * rule), so a slow consumer costs the server at most maxInFlight records. A tail reader keeps no
 * acks and redelivers nothing, but its credit works the same way, exactly as in process: settling
 * one of its deliveries (any way) frees its slot.
 *
 * Credit alone does not bound the socket: a member that stops reading has its leases expire, its
 * credit comes back, and the engine would hand it the records again. So while the peer holds more
 * than sendBufferBytesMax unread bytes, flushing stops, and the flush that finds the socket so
 * congested pauses every member of the connection (SinkControl): their credit counts as 0, so
 * their groups give new records to members that can take them ('partition': the partitions they
 * own wait), instead of to consumers that could not see them. What their buffers hold then waits,
 * told to the engine as held unsent: those deliveries keep their leases and their place in the
 * member's credit, and go out when the socket drains; taken back before that (the lease runs out,
 * the subscription or connection ends) they were no attempt, so they count neither towards
 * deliveryCount nor maxDeliveries, and one that went stale is dropped rather than sent. The first
 * flush that finds room, after sending what waited, resumes the members. The socket holds at most
 * sendBufferBytesMax plus one frame.
 */
import { BrookError, FrameKind, SETTLE_MS_MAX, encodeDeliverFrame, encodeFrame, encodeTakenBackFrame, stableJson, type Clock, type FramePeer, type IdRanges } from '@brook/protocol';
import type { Broker } from '../broker.js';
import type { Delivery } from '../groups/delivery.js';
import type { Ordering, SubscribeOptions } from '../groups/subscribe-options.js';
import type { ServerLimits } from '../config/server-options.js';
import { checkInt, checkString, invalidArgument, type Args } from './args.js';
import type { Reply } from './request-handlers.js';
import { WireSubscription, frameChunks } from './wire-subscription.js';
import { DurableWaits, StaleIds } from './settle-bookkeeping.js';

const ID_MAX = Number.MAX_SAFE_INTEGER;
const EMPTY: Reply = { json: {} };

export class SessionSubscriptions {
  private readonly subscriptions = new Map<number, WireSubscription>();
  private nextSubscription = 1;
  private nextDeliveryId = 0;
  private flushQueued = false;
  /** The last flush ended congested: every subscription's member is paused. */
  private paused = false;

  constructor(
    private readonly broker: Broker,
    private readonly peer: FramePeer,
    private readonly clock: Clock,
    private readonly limits: ServerLimits,
    private readonly state: {
      /** False once the session is closed: nothing more is sent. */
      readonly canSend: () => boolean;
      /** True while the peer holds more than sendBufferBytesMax unread bytes: DELIVER waits. */
      readonly congested: () => boolean;
      /**
       * Starts requests a congestion held back, if it is over. 'drain' fires only once the socket
       * is empty, so a flush that finds room is the first to know: the client's settles (which
       * return credit) go before new DELIVER frames, not after the socket empties.
       */
      readonly startHeldRequests: () => void;
      /** The client's HELLO asked for TAKEN_BACK frames. */
      readonly tellsTakenBack: () => boolean;
    },
  ) {}

  /**
   * Joins the group (or starts a tail reader). Deliveries the engine hands over before the
   * RESPONSE is sent wait in the buffer, so the client learns the subscription number first.
   */
  async subscribe(args: Args): Promise<Reply> {
    const options = readSubscribeOptions(args);
    if (this.subscriptions.size >= this.limits.subscriptionsMax) {
      throw invalidArgument('subscription count', `at most subscriptionsMax ${this.limits.subscriptionsMax}`, this.subscriptions.size + 1, { limit: 'subscriptionsMax' });
    }
    const subscription = new WireSubscription(this.nextSubscription++, options);
    this.subscriptions.set(subscription.id, subscription);
    try {
      subscription.handle = await this.broker.attach(options, (delivery) => this.buffer(subscription, delivery));
    } catch (error) {
      this.subscriptions.delete(subscription.id);
      throw error;
    }
    if (this.subscriptions.get(subscription.id) !== subscription) {
      // The connection ended while joining: leave at once, or the member would hold records forever.
      subscription.handle.abort();
      throw new BrookError('CLOSED', 'the connection closed while subscribing');
    }
    if (this.state.tellsTakenBack()) subscription.handle.onTakenBack((delivery) => this.tookBack(subscription, delivery));
    // The broker ending it (its topic deleted: UNKNOWN_TOPIC) is the client's END.
    subscription.handle.ended.catch((error: BrookError) => {
      if (this.subscriptions.get(subscription.id) === subscription) this.endWith(subscription, error.code, error.description);
    });
    const ready = () => {
      subscription.ready = true;
      // Ended while the RESPONSE waited to go out (its topic deleted as it joined): the client
      // learns the number first, then that it ended, instead of waiting on it for ever.
      const owed = subscription.endOwed;
      if (owed) this.sendEnd(subscription, owed.code, owed.message);
      else this.queueFlush();
    };
    const { memberId, ackTimeoutMs } = subscription.handle;
    const json = { subscription: subscription.id, memberId: memberId ?? null, maxInFlight: subscription.maxInFlight, ackTimeoutMs: ackTimeoutMs ?? null };
    return { json, afterSend: ready };
  }

  /**
   * Graceful unless `abort`: waits until every delivery it holds is settled; a second graceful one
   * meanwhile is refused (INVALID_REQUEST), an abort overtakes it. Unknown numbers are ignored (it
   * may have just ended). `release`: ids its consumer never saw, given back without an attempt
   * as the member leaves; it takes nothing new meanwhile, so none of them can come straight back
   * to it and be taken back again as a crash's. `receivedThrough`
   * (with abort): the last id the client had received (-1: none); later ones were still on their
   * way (sent before this request was read), so its consumer never saw them either.
   */
  async unsubscribe(args: Args): Promise<Reply> {
    const subscription = this.subscriptions.get(args.int('subscription', 0, ID_MAX));
    const abort = args.optionalBoolean('abort') ?? false;
    const release = readIdRanges(args, 'release');
    const receivedThrough = args.optionalInt('receivedThrough', -1, ID_MAX - 1);
    if (!subscription?.handle) return EMPTY;
    if (abort) {
      subscription.handle.pause();
      releaseRanges(subscription, receivedThrough === undefined ? release : [...release, [receivedThrough + 1, ID_MAX]]);
      this.end(subscription);
    } else {
      // A repeat would wait uncounted like the first (see Session.pump): any number could pile up.
      if (subscription.leaving) throw invalidArgument('subscription', 'a subscription not already leaving (the first unsubscribe answers once it has left)', subscription.id);
      subscription.leaving = true;
      // Closing from this call on (it takes nothing new), so what it releases goes to the others.
      const left = subscription.handle.close();
      releaseRanges(subscription, release);
      await left;
    }
    this.subscriptions.delete(subscription.id);
    return EMPTY;
  }

  /**
   * Settles deliveries by id: extends first, then acks, rejects and nacks (the first settlement of
   * an id wins); `alive` settles nothing, it only says the consumer runs (consumerSettled). Every argument is checked before anything is settled. Answers once every ack and
   * reject is durable, with `stale`: the acked and rejected ids that did nothing, because their
   * delivery was taken back (lease expired, rebalance, go-back) or is not outstanding (settled
   * before, forgotten, never sent). The client rejects those acks with DELIVERY_STALE. Stale
   * nacks and extends are ignored.
   */
  async settle(args: Args): Promise<Reply> {
    const subscription = this.subscriptions.get(args.int('subscription', 0, ID_MAX));
    // The rule Delivery and the client's Message apply (refusedSettlement): one limit for both.
    const ms = (value: unknown, field: string) => (value === null ? undefined : checkInt(value, field, 0, SETTLE_MS_MAX));
    const ack = readIdRanges(args, 'ack');
    const extend = args.optionalPairs('extend', id, ms);
    const reject = args.optionalPairs('reject', id, checkString);
    // A nack's third item, its reason, is optional: a client from before it sends pairs.
    const nack = args.optionalPairs('nack', id, ms, checkString);
    const release = readIdRanges(args, 'release');
    const alive = args.optionalBoolean('alive') ?? false;
    if (!subscription) return unknownSubscriptionAnswer(ack, reject);
    // Proof that the consumer runs: a settlement, or `alive` (it can take the next message, having
    // nothing to settle). A release is not: the client gives back what its consumer never saw,
    // often because it is stuck (a loop not reading lets its queue overflow).
    if (alive || ack.length + extend.length + reject.length + nack.length > 0) subscription.handle?.consumerSettled();
    for (const [deliveryId, extendMs] of extend) subscription.extend(deliveryId, extendMs, this.clock.monotonicMs());
    const durable = new DurableWaits();
    const stale = new StaleIds();
    for (const [first, last] of ack) {
      stale.startRange(first);
      subscription.takeRange(first, last, (deliveryId, delivery) => {
        if (delivery.stale) return;
        stale.tookEffect(deliveryId);
        durable.add(delivery.ack());
      });
      stale.endRange(last);
    }
    for (const [deliveryId, reason] of reject) {
      const delivery = subscription.take(deliveryId);
      if (delivery && !delivery.stale) durable.add(delivery.reject(reason));
      else stale.add(deliveryId);
    }
    for (const [deliveryId, delayMs, reason] of nack) subscription.take(deliveryId)?.nack(reason === undefined ? { delayMs } : { delayMs, reason });
    releaseRanges(subscription, release);
    await durable.all();
    return stale.ranges.length === 0 ? EMPTY : { json: { stale: stale.ranges } };
  }

  /** The broker is closing: END every subscription. */
  endAll(code: string, message: string): void {
    for (const subscription of this.subscriptions.values()) this.endWith(subscription, code, message);
  }

  /** The peer's send buffer emptied: send what congestion held back. */
  drained(): void {
    this.queueFlush();
  }

  /** The connection is gone: leave every group at once; what they held is redelivered. */
  abortAll(): void {
    for (const subscription of this.subscriptions.values()) this.end(subscription);
    this.subscriptions.clear();
  }

  private endWith(subscription: WireSubscription, code: string, message: string): void {
    if (subscription.ready) this.sendEnd(subscription, code, message);
    else subscription.endOwed = { code, message };
    this.end(subscription);
    this.subscriptions.delete(subscription.id);
  }

  private sendEnd(subscription: WireSubscription, code: string, message: string): void {
    if (this.state.canSend()) this.peer.send(encodeEnd(subscription.id, code, message));
  }

  private end(subscription: WireSubscription): void {
    subscription.handle?.abort();
    subscription.forget();
  }

  private buffer(subscription: WireSubscription, delivery: Delivery): void {
    subscription.hold(delivery);
    if (subscription.ready) this.queueFlush();
  }

  /** Batched: one TAKEN_BACK frame per subscription per flush, however many the broker took back. */
  private tookBack(subscription: WireSubscription, delivery: Delivery): void {
    subscription.tookBack(delivery);
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  /** Stops while the peer is congested: drained() queues the next flush. */
  private flush(): void {
    this.flushQueued = false;
    if (!this.state.canSend()) return;
    this.state.startHeldRequests();
    this.sendTakenBack();
    this.sendBuffered();
    this.pauseWhileCongested();
  }

  /**
   * A congested connection's members take nothing new, so their groups give the records to
   * members that can take them, and what waits in the buffers is held unsent (see the file
   * comment). They resume at the first flush that finds room, after what waited has gone out.
   */
  private pauseWhileCongested(): void {
    const congested = this.state.congested();
    if (!congested && !this.paused) return;
    this.paused = congested;
    for (const subscription of this.subscriptions.values()) {
      if (congested) subscription.pause();
      else subscription.resume();
    }
  }

  /**
   * Before any DELIVER of the flush, so the client drops what was taken back before a redelivery
   * of it arrives. Not held by congestion: each sent id is told at most once, in a few bytes.
   */
  private sendTakenBack(): void {
    for (const subscription of this.subscriptions.values()) {
      if (!subscription.hasTakenBack) continue;
      const ids = subscription.takeTakenBack();
      if (ids.length > 0) this.peer.send(encodeTakenBackFrame(subscription.id, ids));
    }
  }

  private sendBuffered(): void {
    for (const [id, subscription] of this.subscriptions) {
      if (!subscription.ready || subscription.buffered.length === 0) continue;
      if (this.state.congested()) return;
      if (!this.flushSubscription(subscription)) {
        // It sent some and filled the socket: to the back of the line, so that the next flush
        // starts with the others and one subscription cannot starve the rest of the connection.
        this.subscriptions.delete(id);
        this.subscriptions.set(id, subscription);
        return;
      }
    }
  }

  /** False if congestion stopped it: what was not sent stays buffered. */
  private flushSubscription(subscription: WireSubscription): boolean {
    const chunks = frameChunks(subscription.takeLive(), this.limits.deliverRecordsMax, this.limits.frameBytesMax);
    for (let index = 0; index < chunks.length; index++) {
      if (this.state.congested()) {
        subscription.buffered = chunks.slice(index).flat();
        return false;
      }
      const chunk = chunks[index]!;
      const first = this.nextDeliveryId;
      this.nextDeliveryId += chunk.length;
      this.peer.send(encodeDeliverFrame(subscription.id, first, chunk, subscription.takeNewlyLost()));
      subscription.track(first, chunk, this.clock.monotonicMs());
    }
    return true;
  }
}

/**
 * A settle naming a subscription the session does not have (it ended, e.g. a graceful unsubscribe
 * finished, or never was): none of its deliveries is outstanding, so every ack and reject is stale.
 * Answering "done" would let the client resolve acks that did nothing.
 */
function unknownSubscriptionAnswer(ack: readonly (readonly [number, number])[], reject: readonly (readonly [number, string])[]): Reply {
  const stale: IdRanges = [...ack.map(([first, last]): [number, number] => [first, last]), ...reject.map(([id]): [number, number] => [id, id])];
  return stale.length === 0 ? EMPTY : { json: { stale } };
}

/** Inclusive [first, last] ranges of delivery ids, each with first <= last. */
const id = (value: unknown, field: string): number => checkInt(value, field, 0, ID_MAX);

function readIdRanges(args: Args, field: string): [number, number][] {
  const ranges = args.optionalPairs(field, id, id);
  for (const [first, last] of ranges) if (first > last) throw invalidArgument(field, 'ranges [first, last] with first <= last', [first, last]);
  return ranges;
}

/** Gives back, without an attempt, the deliveries of `ranges` the subscription still holds (its consumer never saw them). */
function releaseRanges(subscription: WireSubscription, ranges: readonly [number, number][]): void {
  if (ranges.length === 0) return;
  const released: Delivery[] = [];
  for (const [first, last] of ranges) subscription.takeRange(first, last, (_id, delivery) => void released.push(delivery));
  subscription.handle?.release(released);
}

function readSubscribeOptions(args: Args): SubscribeOptions {
  return {
    topic: args.string('topic'),
    group: args.optionalString('group'),
    name: args.optionalString('name'),
    // Settings are the broker's to check (resolveGroupConfig), whatever their type: INVALID_CONFIG.
    ordering: args.optionalSetting<Ordering>('ordering'),
    maxInFlight: args.optionalSetting<number>('maxInFlight'),
    ackTimeoutMs: args.optionalSetting<number>('ackTimeoutMs'),
    maxDeliveries: args.optionalSetting<number>('maxDeliveries'),
    // Whole, keys and type included: a misspelled key dropped here would run on the defaults.
    backoff: args.optionalSetting<SubscribeOptions['backoff']>('backoff'),
    // A setting too: its name is the broker's to check (INVALID_TOPIC_NAME), as in process.
    deadLetterTopic: args.optionalSetting<string>('deadLetterTopic'),
    from: args.optionalStartPosition('from'),
  };
}

function encodeEnd(subscription: number, code: string, message: string): Uint8Array {
  return encodeFrame(FrameKind.END, subscription, stableJson({ code, message }));
}
