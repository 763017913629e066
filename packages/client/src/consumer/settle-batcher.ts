/**
 * Acks in batches: a subscription's settlements (ack, nack, extend, reject, and the library's
 * release of messages its consumer never saw) are collected and
 * sent as one `settle` request per tick (or more: each is kept within the server's frameBytesMax),
 * acks as inclusive id ranges, so a consumer that acks a thousand records in order sends
 * `ack: [[first, last]]`. One request, one timer and one answer
 * per batch. Nacks and extends share the batch's promise. Each ack and reject gets a promise of its
 * own, derived from the batch's: the answer lists the ids that did nothing (`stale`: the broker had
 * taken the delivery back, its lease expired or a rebalance moved it), and those reject with
 * DELIVERY_STALE, so a resolved ack() means a durable ack (about 80 ns a message; see
 * docs/benchmarks-history.md).
 *
 * Only settlements of the current session are collected. A message from a dropped connection is
 * redelivered by the broker, so settling it sends nothing: its ack() and reject() fail at once
 * with DISCONNECTED (neither took effect: the record comes again), its nack() and extend()
 * resolve (the redelivery they ask for happens anyway). Settlements collected but not yet sent
 * when the connection drops fail the same way: their promise never claims what did not happen.
 * A subscription the broker ended for good (its topic was deleted) answers them with that error.
 * A tail reader's are never failed: it keeps no acks, the broker takes nothing back from it (and
 * does not deliver its records again), so there is nothing for them to fail, as in process.
 */
import { BrookError, isIdRanges, reasonWithinJsonBytes, toRanges, type IdRanges, type RequestArgs } from '@brook/protocol';
import {
  SETTLE_FRAME_BASE_BYTES, idEntryBytes, reasonBytes, rejectEntryBytes, rejectReasonJsonBytesMax, timedEntryBytes,
} from './settle-entry-bytes.js';
import type { Message, Settler } from './message.js';
import { nextTurn } from '../next-turn.js';

export type SettleEntries = Omit<RequestArgs<'settle'>, 'subscription'>;

/** The answer to a settle: the acked and rejected ids that did nothing, if any. */
export type StaleIds = IdRanges | undefined;

interface Batch {
  /** Resolves with the answer's stale ids once the settle is answered. */
  readonly answered: Promise<StaleIds>;
  /** What nacks and extends of the batch return. */
  readonly done: Promise<void>;
  resolve(stale: StaleIds): void;
  reject(error: unknown): void;
}

const SETTLED: Promise<void> = Promise.resolve();
const ignore = (): void => undefined;

function notSent(): BrookError {
  return new BrookError('DISCONNECTED', 'the connection this message came on was lost before its settlement was sent: the broker delivers the record again');
}

/** What ack() and reject() of a stale message return: one handled rejection for all of them. */
const NOT_SENT: Promise<void> = Promise.reject(notSent());
NOT_SENT.catch(ignore);

function staleError(deliveryId: number): BrookError {
  return new BrookError('DELIVERY_STALE', 'the broker took this delivery back before the settlement reached it (lease expired, rebalance): it did nothing, the record comes again', { deliveryId });
}

/**
 * The answer's `stale` field, checked: absent, or inclusive [first, last] ranges of delivery ids.
 * Anything else is a broken server, and every ack and reject of the batch fails with
 * INVALID_REQUEST (as other malformed answers do) rather than a TypeError or a wrong outcome.
 */
export function readStaleIds(stale: unknown): StaleIds {
  if (stale === undefined) return undefined;
  if (isIdRanges(stale)) return stale;
  throw new BrookError('INVALID_REQUEST', 'settle response: stale must be a list of [firstId, lastId] ranges', { field: 'stale' });
}

function includes(ranges: IdRanges, id: number): boolean {
  for (const [first, last] of ranges) if (id >= first && id <= last) return true;
  return false;
}

export class SettleBatcher implements Settler {
  private session = 0;
  private acks: number[] = [];
  /** `[id, ms]`, or `[id, ms, reason]` when the nack gave one (a broker from before reasons takes pairs only). */
  private nacks: ([number, number | null] | [number, number | null, string])[] = [];
  private extensions: [number, number | null][] = [];
  private rejects: [number, string][] = [];
  private releases: number[] = [];
  /** At least the JSON bytes of the entries collected (commas included): see `room`. */
  private entryBytes = 0;
  /** The next settle says the consumer can take the next message (see `alive`). */
  private aliveOwed = false;
  private batch: Batch | undefined;
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** What ack() and reject() of a message of another session return (see `end`); a tail reader's resolve. */
  private notSent: Promise<void>;
  /**
   * Ids of this session's messages the broker said it took back (TAKEN_BACK), until they are
   * settled or dropped unseen. Empty but for take-backs: a settlement's only cost is a size check.
   * A TAKEN_BACK that crosses the settlement of its id on the wire (the lease ran out while the
   * ack was on its way) comes after forget(): the settle answer's `stale` ids, which name such an
   * id if it was acked or rejected, remove it then. That is partial: one nacked or released, or a
   * message never settled (a loop that skips stale messages), stays until the session ends.
   */
  private readonly told = new Set<number>();
  /**
   * Ids of this session released unseen whose release the broker has not answered yet. A
   * TAKEN_BACK naming one says the release came too late: the lease ran out on a message the
   * consumer never saw, and nothing waits in the sink for TAKEN_BACK to drop (see tookBack).
   */
  private readonly releasing = new Set<number>();
  /** Messages of this session received, and those of them settled or dropped unseen since (forget): see `holding`. */
  private received = 0;
  private finished = 0;

  constructor(
    readonly topic: string,
    /** Sends one settle request for the current session's subscription; resolves with the answer's `stale` field, unchecked. */
    private readonly send: (entries: SettleEntries) => Promise<unknown>,
    /**
     * Told of each nack and release of the current session, once it is collected, with the
     * promise of the settle that carries it (settled once answered): in 'partition' ordering the
     * broker takes back with it every later delivery of its partition (go-back). Not of a nack
     * of a message TAKEN_BACK named: the broker ignores it, and went back already.
     */
    private readonly goesBack: (message: Message, answered: Promise<void>) => void,
    /** A group member's (false: a tail reader's, whose deliveries are never taken back). */
    private readonly keepsAcks: boolean,
    /** The server's frameBytesMax, which one settle request must fit. */
    private readonly frameBytesMax: () => number,
    /** Whether the current session's server takes a nack's reason: one from before reasons refuses it, and the settle with it. */
    private readonly takesNackReason: () => boolean,
  ) {
    this.notSent = keepsAcks ? NOT_SENT : SETTLED;
  }

  /** Deliveries of `session` count from now on (0: none, while disconnected); earlier ones are dropped. */
  setSession(session: number): void {
    this.session = session;
    this.received = 0;
    this.finished = 0;
    this.told.clear();
    this.releasing.clear();
    this.fail(this.take(), notSent());
  }

  /**
   * The subscription ended for good: settlements not yet sent, and acks and rejects from now on,
   * fail with `error` rather than with DISCONNECTED. The broker ended it (its topic was deleted:
   * UNKNOWN_TOPIC, no record comes again), or its consumer did (DELIVERY_STALE: the member left,
   * the records it held come again). Undefined: a tail reader, ended by anyone, which kept no
   * acks, so they resolve, as in process: there was nothing for them to do.
   */
  end(error: BrookError | undefined): void {
    this.session = 0;
    this.received = 0;
    this.finished = 0;
    this.told.clear();
    this.releasing.clear();
    if (error === undefined) {
      this.notSent = SETTLED;
      this.take()?.resolve(undefined);
      return;
    }
    this.notSent = Promise.reject(error);
    this.notSent.catch(ignore);
    this.take()?.reject(error);
  }

  /**
   * A member's message of another session was taken back: the connection it came on was lost, or
   * its subscription ended (the member left). One of this session, once TAKEN_BACK named it.
   */
  takenBack(message: Message): boolean {
    if (message.session !== this.session) return this.keepsAcks;
    return this.told.size > 0 && this.told.has(message.deliveryId);
  }

  /**
   * TAKEN_BACK ids of this session, up to `receivedThrough`: a broken server's wider range costs no
   * more. True if it names a message released unseen whose release had not reached the broker yet.
   */
  tookBack(ranges: IdRanges, receivedThrough: number): boolean {
    let releasedTooLate = false;
    for (const [first, last] of ranges) {
      for (let id = first; id <= Math.min(last, receivedThrough); id++) {
        this.told.add(id);
        if (this.releasing.size > 0 && this.releasing.delete(id)) releasedTooLate = true;
      }
    }
    return releasedTooLate;
  }

  /** A message is settled, or dropped unseen (TAKEN_BACK named it): nothing will ask about it any more. */
  forget(message: Message): void {
    this.finished += 1;
    if (this.told.size > 0) this.told.delete(message.deliveryId);
  }

  /** A DELIVER brought `count` messages of this session. */
  receivedMessages(count: number): void {
    this.received += count;
  }

  /**
   * True while a message of this session is neither settled nor dropped unseen (its consumer holds
   * it, perhaps without knowing it was taken back), or settlements wait to be sent.
   */
  get holding(): boolean {
    return this.finished < this.received || this.batch !== undefined;
  }

  ack(message: Message): Promise<void> {
    if (message.session !== this.session) return this.notSent;
    this.forget(message);
    this.room(idEntryBytes(message.deliveryId));
    this.acks.push(message.deliveryId);
    return this.outcome(message.deliveryId);
  }

  nack(message: Message, delayMs: number | null, reason: string | undefined): Promise<void> {
    if (message.session !== this.session) return SETTLED;
    // One TAKEN_BACK named does nothing at the broker, so neither does its go-back: what waits
    // after it is a redelivery, live, and must not be released (it would only come again).
    const takenBack = this.takenBack(message);
    this.forget(message);
    const bytes = timedEntryBytes(message.deliveryId, delayMs);
    // The reason only says what failed: one that would not fit a frame even alone (a long message
    // at a low frameBytesMax) is left out, not allowed to cost the nack its request.
    const reasonEntryBytes = reason === undefined || !this.takesNackReason() ? 0 : reasonBytes(reason) + 1;
    if (reasonEntryBytes === 0 || SETTLE_FRAME_BASE_BYTES + bytes + reasonEntryBytes > this.frameBytesMax()) {
      this.room(bytes);
      this.nacks.push([message.deliveryId, delayMs]);
    } else {
      this.room(bytes + reasonEntryBytes);
      this.nacks.push([message.deliveryId, delayMs, reason!]);
    }
    const done = this.pending().done;
    if (!takenBack) this.goesBack(message, done);
    return done;
  }

  extend(message: Message, ms: number | null): Promise<void> {
    if (message.session !== this.session) return SETTLED;
    this.room(timedEntryBytes(message.deliveryId, ms));
    this.extensions.push([message.deliveryId, ms]);
    return this.pending().done;
  }

  reject(message: Message, reason: string): Promise<void> {
    if (message.session !== this.session) return this.notSent;
    this.forget(message);
    // Unlike a nack's, a reject's reason cannot be left out (the broker needs one): one that would
    // not fit a frame even alone is cut to what fits, so the record is dead-lettered all the same.
    const fitted = reasonWithinJsonBytes(reason, rejectReasonJsonBytesMax(this.frameBytesMax(), message.deliveryId));
    this.room(rejectEntryBytes(message.deliveryId) + reasonBytes(fitted));
    this.rejects.push([message.deliveryId, fitted]);
    return this.outcome(message.deliveryId);
  }

  release(message: Message): Promise<void> {
    if (message.session !== this.session) return SETTLED;
    this.forget(message);
    this.room(idEntryBytes(message.deliveryId));
    this.releases.push(message.deliveryId);
    this.releasing.add(message.deliveryId);
    const done = this.pending().done;
    this.goesBack(message, done);
    return done;
  }

  /**
   * The consumer of `session` can take the next message, though TAKEN_BACK left it nothing to
   * settle: the next settle says so (`alive`), which the broker counts as it counts a settlement
   * (a 'partition' member that lost its partitions to a lease gets its share back). Only ever
   * after a TAKEN_BACK, so only to a server that sends them; nothing of a lost session.
   */
  alive(session: number): void {
    if (session !== this.session || session === 0) return;
    this.aliveOwed = true;
    this.pending();
  }

  /** Sends what is collected now, then waits for every settle request still unanswered. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Makes room for an entry of at most `bytes`: the batch collected so far goes now if the entry
   * would take its request past frameBytesMax. The connection refuses a frame over it
   * (MESSAGE_TOO_LARGE), which would fail every settlement in it, and a handler never looks at
   * its acks' promises: the records would come again and again, and be dead-lettered.
   */
  private room(bytes: number): void {
    if (this.batch !== undefined && SETTLE_FRAME_BASE_BYTES + this.entryBytes + bytes > this.frameBytesMax()) this.flush();
    this.entryBytes += bytes;
  }

  /** The batch collecting now, sent at the end of the tick. */
  private pending(): Batch {
    if (!this.batch) {
      let resolve!: (stale: StaleIds) => void;
      let reject!: (error: unknown) => void;
      const answered = new Promise<StaleIds>((res, rej) => ((resolve = res), (reject = rej)));
      const done = answered.then(ignore);
      // Handler-style consumers never look at these promises; a failed settle must not crash them.
      answered.catch(ignore);
      done.catch(ignore);
      this.batch = { answered, done, resolve, reject };
    }
    if (!this.scheduled) {
      this.scheduled = true;
      nextTurn(() => this.flush());
    }
    return this.batch;
  }

  /** An ack's or reject's own promise: the batch's, failing with DELIVERY_STALE if the answer lists its id. */
  private outcome(deliveryId: number): Promise<void> {
    const settled = this.pending().answered.then((stale) => {
      if (stale !== undefined && includes(stale, deliveryId)) throw staleError(deliveryId);
    });
    settled.catch(ignore);
    return settled;
  }

  /** Sends what is collected now instead of at the end of the tick. */
  flush(): void {
    this.scheduled = false;
    const acks = this.acks;
    const entries: SettleEntries = {};
    if (acks.length > 0) entries.ack = toRanges(acks);
    if (this.nacks.length > 0) entries.nack = this.nacks;
    if (this.extensions.length > 0) entries.extend = this.extensions;
    if (this.rejects.length > 0) entries.reject = this.rejects;
    if (this.releases.length > 0) entries.release = toRanges(this.releases);
    if (this.aliveOwed) entries.alive = true;
    const released = this.releases;
    const batch = this.take();
    if (!batch) return;
    const session = this.session;
    const answered = (stale: StaleIds): void => {
      if (stale !== undefined && this.session === session) this.forgetStale(stale);
      batch.resolve(stale);
    };
    const sent = this.send(entries).then(readStaleIds).then(answered, (error: unknown) => this.fail(batch, error));
    this.inFlight.add(sent);
    void sent.finally(() => {
      this.inFlight.delete(sent);
      // Answered: a TAKEN_BACK of these came before the answer, on the same connection.
      if (this.session === session) for (const id of released) this.releasing.delete(id);
    });
  }

  /** The answer's stale ids, settled already: a TAKEN_BACK of them that came after (see `told`) is done with. */
  private forgetStale(stale: IdRanges): void {
    if (this.told.size === 0) return;
    for (const [first, last] of stale) for (let id = first; id <= last; id++) this.told.delete(id);
  }

  /**
   * A batch that did not go through (not sent, or its request failed): a member's settlements
   * fail with `error`, a tail reader's resolve (it keeps no acks: nothing was lost, nothing comes again).
   */
  private fail(batch: Batch | undefined, error: unknown): void {
    if (this.keepsAcks) batch?.reject(error);
    else batch?.resolve(undefined);
  }

  /** Hands over the collected batch and starts a new one. */
  private take(): Batch | undefined {
    const batch = this.batch;
    this.batch = undefined;
    this.acks = [];
    this.nacks = [];
    this.extensions = [];
    this.rejects = [];
    this.releases = [];
    this.entryBytes = 0;
    this.aliveOwed = false;
    return batch;
  }
}
