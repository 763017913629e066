/**
 * One subscription: a member of a group (or a tail reader) on the server, kept alive across
 * reconnects. Its consumer is a handler (resolve = ack, throw = nack with the group's backoff)
 * or a `for await` loop (consume()).
 *
 * Reconnects. When the connection drops, the broker redelivers whatever this member held, so
 * the subscription forgets it: messages still queued for the loop are dropped and settling a
 * message of the lost session is a no-op. Once the connection is back it subscribes again with
 * the same options (a tail reader without a group resumes at the tail: what came meanwhile is
 * not replayed). A broker shutting down gracefully (END CLOSED, then close 1001) is such a drop
 * too. If the connection is over for good (reconnect off, attempts used up, an in-process broker
 * closed), the subscription ends with the connection's error: a loop's next() rejects with it.
 *
 *   close()  graceful: messages queued and not yet handed to the loop go back (released: no
 *            attempt counted, since the loop never saw them),
 *            pending settlements are sent, then the server waits until what it holds is settled
 *   abort()  leaves at once: whatever this member holds is redelivered to the others (each an
 *            attempt, as after a crash), but messages still queued unseen go back with none
 *
 * Either one while a subscribe is unanswered (the first, or a resubscribe after a reconnect),
 * or that subscribe timing out, does not stop the server from making the member: when its answer
 * comes, the member leaves at once (unsubscribe with abort), without close() waiting for it.
 */
import { BrookError, isBrookError, lastDeliveryId, readDeliveries, readTakenBack, toRanges, type IdRanges, type RequestArgs, type RequestResult, type Timer, type WireSubscribeOptions } from '@brook/protocol';
import type { Connection, SubscriptionListener } from '../connection.js';
import { backoffDelayMs } from '../transport/backoff.js';
import { Message } from './message.js';
import type { MessageSink } from './message-sink.js';
import { SettleBatcher } from './settle-batcher.js';
import { wireStartPosition } from './start-position.js';
import { checkSubscribeOptions, type SubscribeOptions } from './subscribe-options.js';
import { SupersededMessages } from './superseded.js';
import { UnseenLeases } from './unseen-leases.js';
import { LeaveDeadline } from './leave-deadline.js';

export class Subscription {
  readonly topic: string;
  readonly group: string | undefined;
  private memberIdOnServer: string | undefined;
  /** A tail reader's records lost to retention, summed over its sessions (DELIVER's lostToRetention). */
  private lostRecords = 0n;
  private number = 0;
  /** The connection session `number` belongs to: a later session may give it to another subscription. */
  private numberSession = 0;
  private state: 'subscribing' | 'active' | 'down' | 'closing' | 'closed' = 'subscribing';
  /** The next try of a resubscribe the server refused for now (see resubscribe). */
  private retryTimer: Timer | undefined;
  /** The graceful close under way: every close() returns it (client.close() must wait for a signal's). */
  private closed: Promise<void> | undefined;
  private readonly batcher: SettleBatcher;
  private readonly signal: AbortSignal | undefined;
  /** What it subscribes with; a tail reader's `from` becomes 'latest' once it has read (activate). */
  private wireOptions: WireSubscribeOptions;
  private readonly detach: () => void;
  /** Which messages a later delivery, or a go-back of this client's, made stale unseen. */
  private readonly superseded: SupersededMessages;
  /** The last delivery id received on this session (-1: none; ids start at 0): an abort tells the broker, so that what was still on its way is no attempt. */
  private receivedThrough = -1;
  /** Gives back what waits unseen in the sink before its lease runs out. */
  private readonly leases: UnseenLeases;
  /** Bounds a graceful close's wait for its answer once nothing is left to settle. */
  private readonly leaving: LeaveDeadline;
  /**
   * Settles once the subscription has ended: resolves when its consumer ended it (close(),
   * abort(), a loop left, client.close()), rejects with why when the broker or the connection did
   * (UNKNOWN_TOPIC: its topic was deleted; CLOSED: the broker closed; DISCONNECTED: the connection
   * was lost for good). A handler never learns that otherwise. Marked handled: nobody has to look.
   */
  readonly ended: Promise<void>;
  private settleEnded: (error: BrookError | undefined) => void = () => undefined;

  constructor(
    private readonly connection: Connection,
    options: SubscribeOptions,
    private readonly sink: MessageSink,
    /** The client's live subscriptions: this one is in it until it ends, however it ends. */
    private readonly registry: Set<Subscription>,
  ) {
    this.ended = new Promise<void>((resolve, reject) => {
      this.settleEnded = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.ended.catch(() => undefined);
    checkSubscribeOptions(options);
    const { signal, from, ...named } = options;
    // The member is labelled with the client's name unless the subscribe names its own, so
    // describeGroup tells which service each member is (its id stays unique).
    const rest = { ...named, name: named.name ?? connection.name };
    this.signal = signal;
    this.topic = options.topic;
    this.group = options.group;
    this.wireOptions = from === undefined ? rest : { ...rest, from: wireStartPosition(from) };
    registry.add(this);
    this.leases = new UnseenLeases(connection.clock, sink);
    this.superseded = new SupersededMessages(sink);
    this.batcher = new SettleBatcher(
      this.topic, (entries) => this.sendSettle(entries), (message, answered) => this.superseded.wentBack(message, answered), this.group !== undefined,
      () => connection.serverLimits.frameBytesMax, () => connection.takesNackReason,
    );
    this.leaving = new LeaveDeadline(connection.clock, () => connection.requestTimeoutMs, () => this.batcher.holding);
    const onDown = (): void => this.lost();
    const onReady = (): void => void this.resubscribe();
    const onClosed = (error: BrookError | undefined): void => this.finish(error);
    const onAbort = (): void => void this.close().catch(() => undefined);
    connection.on('down', onDown).on('ready', onReady).on('closed', onClosed);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.detach = () => {
      connection.off('down', onDown).off('ready', onReady).off('closed', onClosed);
      signal?.removeEventListener('abort', onAbort);
    };
  }

  /**
   * The member id in describeGroup, or a tail reader's id (`retentionDropped`'s `reader` on the
   * broker); it changes on reconnect. Undefined until the broker accepted the subscription.
   */
  get memberId(): string | undefined {
    return this.memberIdOnServer;
  }

  /**
   * A tail reader's records that retention deleted before the broker handed them out, over every
   * partition and reconnect; learnt with the next delivery after the loss. Undefined for a group
   * member: describeGroup's `lostToRetention` counts the group's.
   */
  get lostToRetention(): bigint | undefined {
    return this.group === undefined ? this.lostRecords : undefined;
  }

  /** Joins on the server; resolves once the broker accepted the subscription. With `refusal`, ends with it instead. */
  async start(refusal?: BrookError): Promise<void> {
    if (refusal) {
      this.finish(refusal);
      throw refusal;
    }
    // Aborted before it began (subscribe() refuses that with the signal's reason first): a
    // consume() loop ends at once, as it would had the abort come a moment later, and `ready`
    // rejects with the reason, as subscribe() does: the subscription was never accepted.
    if (this.signal?.aborted) {
      this.finish(undefined);
      throw this.signal.reason;
    }
    // Aborted while the answer was on its way (the member it made is left: leaveUnwanted): the reason, whatever came.
    const aborted = (): boolean => this.state === 'closed' && this.signal?.aborted === true;
    await this.joinUntilAnswered().catch((error: unknown) => { if (!aborted()) throw error; });
    if (aborted()) throw this.signal!.reason;
  }

  private async joinUntilAnswered(): Promise<void> {
    for (;;) {
      try {
        await this.subscribe();
        return;
      } catch (error) {
        // A drop while subscribing: the request goes again once the connection is back.
        if (!isBrookError(error, 'DISCONNECTED') || this.state !== 'subscribing' || this.connection.isClosed) {
          // A loop sees the refusal through next(), not as a quiet end.
          this.finish(error as BrookError);
          throw error;
        }
      }
    }
  }

  /** Graceful: see the file comment. Resolves once the server has let the member go. */
  close(): Promise<void> {
    this.closed ??= this.leaveGracefully();
    return this.closed;
  }

  private async leaveGracefully(): Promise<void> {
    if (this.state === 'closed') return;
    const wasActive = this.state === 'active';
    this.state = 'closing';
    // Taken before the sink closes: a loop's queue drops what it holds once it ends, and a message
    // dropped unsettled would keep the graceful unsubscribe waiting until its lease expired.
    const unseen = this.sink.takeUnseen();
    this.sink.closing();
    try {
      if (wasActive) {
        // The unsubscribe goes before the releases: a member already closing gets nothing new, so
        // the broker hands what they give back to the other members instead of to this one again.
        // Untimed while its consumer holds a message: a handler may run past requestTimeoutMs
        // within its lease, and the ack it makes must still be sent. Once nothing is left to
        // settle, a server silent for requestTimeoutMs is broken: the connection is cut (LeaveDeadline).
        const left = this.connection.request('unsubscribe', { subscription: this.number }, { sessionBound: true, untimed: true });
        for (const message of unseen) message.releaseUnread();
        if (await this.leaving.overdue(left)) this.connection.terminate();
        await this.batcher.drain();
      }
    } catch (error) {
      // The connection dropped or closed meanwhile: the server has let the member go anyway.
      if (!isBrookError(error) || !(error.code === 'DISCONNECTED' || error.code === 'CLOSED')) throw error;
    } finally {
      this.finish(undefined);
    }
  }

  /**
   * Leaves at once, like a crash: what this member holds is redelivered to the others. Settlements
   * already made go out first.
   */
  abort(): void {
    if (this.state === 'closed') return;
    // A graceful close under way (closing) is overtaken too: the member stops waiting for what it holds.
    if (this.numberSession !== 0 && this.numberSession === this.connection.session) {
      this.batcher.flush();
      // What waits unseen in the sink never reached the consumer: given back with no attempt,
      // as the in-process loop's queue does, not taken back as a crash's (at maxDeliveries 1,
      // dead-lettered unseen).
      const unseen = this.sink.takeUnseen().filter((message) => message.session === this.numberSession);
      const release = unseen.length > 0 ? toRanges(unseen.map((message) => message.deliveryId)) : undefined;
      // And what the broker sent after the last frame received here: on its way, never seen either.
      const abort = { subscription: this.number, abort: true, receivedThrough: this.receivedThrough, ...(release && { release }) };
      this.connection.request('unsubscribe', abort, { sessionBound: true }).catch(() => undefined);
    }
    this.finish(undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async subscribe(): Promise<void> {
    await this.connection.request('subscribe', this.wireOptions, {
      // Runs as the RESPONSE is read, so the DELIVER frames right behind it find their listener.
      onResponse: (result) => (this.state === 'subscribing' || this.state === 'down' ? this.activate(result) : this.leaveUnwanted(result.subscription)),
      onLateResponse: (result) => this.leaveUnwanted(result.subscription),
    });
  }

  private activate(result: RequestResult<'subscribe'>): void {
    this.number = result.subscription;
    this.numberSession = this.connection.session;
    this.memberIdOnServer = result.memberId ?? undefined;
    // Only a credit the broker could have given: a broken answer must not make the queue release everything.
    const maxInFlight = Number.isSafeInteger(result.maxInFlight) && result.maxInFlight! > 0 ? result.maxInFlight : this.wireOptions.maxInFlight;
    if (maxInFlight !== undefined) this.sink.credit(maxInFlight);
    // Likewise only a lease the broker could have set; none (a tail reader, an older server): nothing is given back early.
    this.leases.setLease(Number.isSafeInteger(result.ackTimeoutMs) && result.ackTimeoutMs! > 0 ? result.ackTimeoutMs! : undefined);
    this.state = 'active';
    // A tail reader resubscribing after a reconnect goes on at the tail: its `from` again would
    // replay what it had read (a group's `from` applies only to a new group, so it may stay).
    if (this.group === undefined) this.wireOptions = { ...this.wireOptions, from: 'latest' };
    this.batcher.setSession(this.connection.session);
    this.superseded.setSession(this.wireOptions.ordering);
    this.receivedThrough = -1;
    this.connection.listen(result.subscription, this.listener);
  }

  /**
   * The server made a member this subscription gave up on (see the file comment). Left alone it
   * would take records nobody settles, and under ordering 'partition' keep its partitions from
   * the other members, for as long as the connection lives; aborting hands them on now.
   */
  private leaveUnwanted(subscription: number): void {
    this.connection.request('unsubscribe', { subscription, abort: true }, { sessionBound: true }).catch(() => undefined);
  }

  private readonly listener: SubscriptionListener = {
    deliver: (json, data) => {
      const { first, count, lostToRetention } = json as { first: number; count: number; lostToRetention?: unknown };
      // first and count are checked before any use: a broken server's {"first": {...}} threw a
      // TypeError here, out of the socket's event handler (an uncaught exception).
      const receivedThrough = lastDeliveryId(first, count);
      if (lostToRetention !== undefined) this.lostRecords += decimalCount(lostToRetention, 'lostToRetention');
      const session = this.connection.session;
      this.receivedThrough = receivedThrough;
      const receivedAtMs = this.connection.clock.monotonicMs();
      readDeliveries(first, count, data, (deliveryId, partition, offset, deliveryCount, record) => {
        const message = new Message(this.batcher, session, deliveryId, partition, offset, deliveryCount, record.timestamp, record.key, record.value, record.headers, receivedAtMs);
        if (this.superseded.arrived(message) && !this.sink.deliver(message)) message.releaseUnread();
      });
      this.batcher.receivedMessages(count);
      this.leaving.check();
      this.leases.watch();
    },
    takenBack: (json) => this.dropTakenBack(readTakenBack(json)),
    // END CLOSED: the broker is shutting down and closes the connection (1001) right after, so
    // this is a drop, not an end: resubscribe after the reconnect, or end with the connection's
    // error if it does not come back. Any other END (the topic was deleted) is final.
    end: (error) => (error.code === 'CLOSED' ? this.lost() : this.endedByBroker(error)),
  };

  /**
   * TAKEN_BACK: the broker took these deliveries back unsettled (its lease ran out, a rebalance
   * or go-back, a reset) and their records come again, perhaps to another member. Their messages
   * are stale from now on, and those still waiting unseen (queued for a loop, or for a handler's
   * place) are dropped, so no handler starts on a record already redelivered; a release of them
   * would do nothing. A handler running on one keeps its place until it finishes (and nothing
   * more: a redelivery may start beside it, as in process). ('partition': a go-back takes back every
   * later delivery of the partition in the same step, so one frame names them all.)
   * Dropped (or released unseen by a release too late), they are never settled: perhaps all a
   * 'partition' member had, which lost its partitions to their leases until its consumer settles
   * something. So once it can take the next message the client says so instead (settle `alive`);
   * not before: a consumer with every handler place held by a hung handler stays without partitions.
   */
  private dropTakenBack(ids: IdRanges): void {
    const releasedTooLate = this.batcher.tookBack(ids, this.receivedThrough);
    const dropped = this.sink.takeUnseen((waiting) => waiting.stale);
    if (dropped.length === 0 && !releasedTooLate) return;
    for (const message of dropped) this.batcher.forget(message);
    this.leaving.check();
    const session = this.connection.session;
    this.sink.whenReady(() => this.batcher.alive(session));
  }

  private sendSettle(entries: Omit<RequestArgs<'settle'>, 'subscription'>): Promise<unknown> {
    return this.leaving.settle(this.connection.request('settle', { ...entries, subscription: this.number }, { sessionBound: true })).then((answer) => answer.json.stale);
  }

  private lost(): void {
    if (this.state !== 'active') return;
    this.state = 'down';
    this.batcher.setSession(0);
    this.leases.cancel();
    this.sink.takeUnseen();
  }

  /**
   * Joins again after a reconnect. Dropped again: the next 'ready' retries. Refused for good (the
   * topic is gone): it ends. Refused for now (TIMEOUT while the server is busy, IO_ERROR opening
   * the group's files) on a connection that stays up: tried again after the reconnect backoff,
   * since nothing else would (the client is connected, no 'ready' comes), up to its attemptsMax
   * as a reconnect is; then it ends with the last refusal, rather than wait on in silence.
   */
  private async resubscribe(attempt = 0): Promise<void> {
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    if (this.state !== 'down') return;
    try {
      await this.subscribe();
    } catch (error) {
      if (isBrookError(error, 'DISCONNECTED')) return;
      const policy = this.connection.reconnectPolicy;
      if (!(error as BrookError).retriable || policy === undefined || this.state !== 'down' || attempt + 1 >= policy.attemptsMax) {
        this.endedByBroker(error as BrookError);
        return;
      }
      const delayMs = backoffDelayMs(policy, attempt, this.connection.random);
      this.retryTimer = this.connection.clock.setTimer(delayMs, () => void this.resubscribe(attempt + 1));
    }
  }

  /** Refused for good by the broker (END, or a resubscribe refused: the topic is gone): a member's acks and rejects say why. */
  private endedByBroker(error: BrookError): void {
    // A tail reader kept no acks: there is nothing for them to fail, and in process they resolve.
    this.batcher.end(this.group === undefined ? undefined : error);
    this.finish(error);
  }

  private finish(error: BrookError | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.retryTimer?.cancel();
    this.leases.cancel();
    this.leaving.stop();
    this.detach();
    // Its consumer ended it: a member has left, so the broker took back what it held, as it
    // does in process (DELIVERY_STALE, not DISCONNECTED: the connection is fine, and retrying
    // the ack cannot help); a tail reader kept no acks. Otherwise the broker or the connection
    // did, and says why.
    if (error === undefined) this.batcher.end(this.group === undefined ? undefined : memberLeft());
    else this.batcher.setSession(0);
    // Only a number of this session: one of a lost session may be another subscription's now.
    if (this.number !== 0 && this.numberSession === this.connection.session) this.connection.unlisten(this.number);
    this.sink.ended(error);
    this.registry.delete(this);
    this.settleEnded(error);
  }
}

function memberLeft(): BrookError {
  return new BrookError('DELIVERY_STALE', 'the subscription this message came on has ended: the broker took the delivery back, the record comes again');
}

/** A count the server sent as a decimal string; anything else is a broken server, not a number to trust. */
function decimalCount(value: unknown, field: string): bigint {
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) {
    throw new BrookError('INVALID_REQUEST', `DELIVER frame: ${field} must be a decimal string`, { field });
  }
  return BigInt(value);
}
