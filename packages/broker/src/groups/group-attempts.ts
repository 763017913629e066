/**
 * The attempts of one group's records, from the moment one starts: journaled, leased, handed out,
 * then settled (ack, nack, extend, reject), expired or taken back, and so redelivered after a
 * backoff ('partition': with go-back-N) or dead-lettered once maxDeliveries attempts have failed.
 * Group (group.ts) builds on it with what decides when attempts start and for whom: its members,
 * the pump and the admin changes of its positions.
 */
import { BrookError, handledRejection } from '@brook/protocol';
import type { RedeliveryReason } from '../events.js';
import { Flight, type FlightOwner } from './flight.js';
import type { GroupContext } from './group-context.js';
import { GroupEvents } from './group-events.js';
import type { GroupJournal } from './group-journal.js';
import { LeaseQueue } from './lease-queue.js';
import type { Member } from './member.js';
import { orderingFor, type OrderingStrategy } from './orderings.js';
import type { Entry, PartitionWindow } from './partition-window.js';
import { backoffDelayMs, type GroupConfig } from './subscribe-options.js';

/** What ack() and reject() of a stale delivery return. */
const STALE = handledRejection(new BrookError('DELIVERY_STALE', 'the delivery was taken back before it was settled: the record is delivered again'));

export abstract class GroupAttempts implements FlightOwner {
  protected ordering: OrderingStrategy;
  protected readonly report: GroupEvents;
  private readonly leases: LeaseQueue<Flight>;
  lastError: unknown;
  /** Why the last dead-letter copy failed (deadLetterProblem). */
  private deadLetterFailure: unknown;
  protected closed = false;
  /** Once closed: what ack() and reject() of its deliveries return instead of STALE (nothing comes again). */
  private ending: Promise<never> | undefined;

  constructor(
    readonly topic: string,
    readonly name: string,
    public config: GroupConfig,
    protected readonly journal: GroupJournal,
    readonly windows: PartitionWindow[],
    protected readonly context: GroupContext,
  ) {
    this.ordering = orderingFor(config, windows);
    this.leases = new LeaseQueue<Flight>(context.clock, context.deadlines, (flight) => this.expire(flight));
    this.report = new GroupEvents(context.events, topic, name);
  }

  /** Something changed that may let records move: the group runs its pump soon. */
  abstract schedulePump(): void;

  /**
   * 'partition': `member` lost a lease (lost: true) or, having lost one, settled something
   * (lost: false); the group rebalances with or without it.
   */
  protected abstract markLeaseLost(member: Member, lost: boolean): void;

  /** `member`'s consumer settled something, current or stale: its handler runs (markLeaseLost). */
  heardFrom(member: Member): void {
    if (member.leaseLost) this.markLeaseLost(member, false);
  }

  /**
   * Why a record waits for its dead-letter copy to be tried again: the last copy's failure, while
   * one waits (a reset, retention or the group's end may have ended every wait since).
   */
  get deadLetterProblem(): unknown {
    if (this.deadLetterFailure === undefined) return undefined;
    const waiting = this.windows.some((window) => window.entries().some((entry) => entry.state === 'deadLettering' && entry.backoff !== undefined));
    return waiting ? this.deadLetterFailure : undefined;
  }

  /** Resolves once the ack is durable: with every other ack of its journal flush, one promise for all. */
  ack(flight: Flight): Promise<void> {
    this.heardFrom(flight.member);
    if (!flight.current) return this.ending ?? STALE;
    this.endFlight(flight.entry, true);
    const durable = this.complete(flight.entry);
    // After the window let the record go: a listener's describeGroup sees it acked (lag one less).
    this.report.acked(flight);
    return durable;
  }

  nack(flight: Flight, delayMs: number | undefined, reason: string | undefined): void {
    this.heardFrom(flight.member);
    if (!flight.current) return;
    this.report.nacked(flight, delayMs, reason);
    this.endFlight(flight.entry, true);
    this.retry(flight.entry, 'nack', delayMs, reason);
  }

  extend(flight: Flight, ms: number | undefined): void {
    this.heardFrom(flight.member);
    if (flight.current) this.leases.extend(flight, this.context.clock.monotonicMs() + (ms ?? this.config.ackTimeoutMs));
  }

  reject(flight: Flight, reason: string): Promise<void> {
    this.heardFrom(flight.member);
    if (!flight.current) return this.ending ?? STALE;
    this.endFlight(flight.entry, true);
    return this.deadLetter(flight.entry, `rejected: ${reason}`);
  }

  /**
   * The group ends: its deliveries are taken back, so a later ack() or reject() changes nothing
   * and rejects with `ending`, and no lease, backoff or dead-letter retry of it fires any more.
   */
  protected endAttempts(ending: BrookError): void {
    this.closed = true;
    this.ending = handledRejection(ending);
    for (const window of this.windows) {
      for (const entry of window.entries()) this.endFlight(entry);
      window.clear();
    }
    this.leases.clear();
  }

  /**
   * Starts an attempt: counts it, journals it (durable with the next flush) and leases it. Its
   * last allowed attempt cut short by a broker restart (or maxDeliveries lowered), the record
   * is dead-lettered instead: another delivery would exceed maxDeliveries. Not one whose attempt
   * is owed (Entry.attemptOwed): its last delivery was taken back, not failed.
   */
  protected startFlight(entry: Entry, member: Member, now: number): Flight | undefined {
    const exhausted = entry.attemptOwed ? undefined : this.outOfAttempts(entry, 'interrupted');
    if (exhausted) {
      member.release();
      this.deadLetterInBackground(entry, exhausted);
      return undefined;
    }
    const window = this.windows[entry.partition]!;
    const deliveryCount = window.ack.recordAttempt(entry.offset, entry.nextOffset);
    this.journal.attempt(entry.partition, entry.offset, deliveryCount, entry.nextOffset);
    const flight = new Flight(this, entry, member, deliveryCount, entry.attemptOwed);
    entry.attemptOwed = false;
    this.leases.grant(flight, now + this.config.ackTimeoutMs);
    entry.flight = flight;
    window.setState(entry, 'inflight');
    return flight;
  }

  /**
   * Once the attempts are journaled, gives the deliveries still current to their members. If the
   * journal fails instead (for good: GroupJournal.failure), none reaches its member
   * ('unjournaled'). Each waits out its lease, which paces the pump's retries against a journal
   * that refuses them until a reopen, except those of a closing member, which go back at once
   * (here, or when it starts to close) so that its close() does not wait for them.
   */
  protected async handOut(flights: readonly Flight[]): Promise<void> {
    try {
      await this.journal.flush();
    } catch (error) {
      for (const flight of flights) {
        if (!flight.current) continue;
        flight.reach = 'unjournaled';
        if (flight.member.closing) this.revoke(flight.entry, 'memberLeft');
      }
      throw error;
    }
    for (const flight of flights) {
      if (!flight.current || flight.member.left) continue;
      if (flight.member.closing || flight.member.paused) {
        // It began to close, or its sink filled up, while the attempt was being journaled:
        // it gets nothing new, and the attempt, which never reached it, is given back.
        this.revoke(flight.entry, 'memberLeft');
        continue;
      }
      flight.reach = 'handedOut';
      this.report.delivered(flight);
      flight.member.sink(flight);
    }
  }

  /**
   * Its consumer never saw it (a client's queue let it go unread): the attempt is given back as
   * if the sink had held it unsent, and in 'partition' what the member holds after it too (see
   * giveBackUnsent). Stale: nothing to do.
   */
  release(flight: Flight): void {
    if (!flight.current) return;
    flight.reach = 'held';
    this.giveBackUnsent(flight.entry);
  }

  private expire(flight: Flight): void {
    if (!flight.current) return;
    if (flight.reach !== 'handedOut') {
      this.giveBackUnsent(flight.entry);
      return;
    }
    this.report.leaseExpired(flight);
    this.endFlight(flight.entry);
    this.retry(flight.entry, 'leaseExpired', undefined, undefined);
    if (this.config.ordering === 'partition') this.markLeaseLost(flight.member, true);
  }

  /**
   * The delivery never reached its member (its lease ran out while its sink held it unsent,
   * behind a congested connection or unread in a consume() queue, or while its attempt was still
   * being journaled; or the consumer released it unread): no attempt failed, so it is given back
   * (revoke). 'partition': what the member holds after it in the partition has not reached it
   * either (a sink sends in order, a queue is read in order), and goes back too, so the
   * partition is delivered again in order.
   */
  private giveBackUnsent(entry: Entry): void {
    const window = this.windows[entry.partition]!;
    // Read before the revoke moves the cursor back to the entry: what lies up to it goes back too.
    const cursorSeq = window.cursorSeq;
    this.revoke(entry, 'leaseExpired');
    if (this.config.ordering === 'partition') this.goBack(window, entry, cursorSeq);
  }

  /**
   * A failed attempt, `failure` what its nack said failed (if it said): dead-letter it if it was
   * the last allowed, else redeliver after a backoff.
   */
  private retry(entry: Entry, reason: RedeliveryReason, delayMs: number | undefined, failure: string | undefined): void {
    const window = this.windows[entry.partition]!;
    entry.lastFailureReason = failure;
    const exhausted = this.outOfAttempts(entry, reason);
    if (exhausted) {
      this.deadLetterInBackground(entry, exhausted);
      return;
    }
    const delay = Math.max(0, delayMs ?? backoffDelayMs(this.config.backoff, window.ack.attempts(entry.offset), this.context.random));
    this.scheduleRedelivery(entry, reason, delay);
    if (this.config.ordering === 'partition') this.goBack(window, entry);
  }

  private scheduleRedelivery(entry: Entry, reason: RedeliveryReason, delayMs: number): void {
    const window = this.windows[entry.partition]!;
    window.redeliveries += 1;
    this.report.redelivered(entry, reason, window.ack.attempts(entry.offset) + 1, delayMs);
    if (delayMs === 0) {
      this.makeReady(entry);
      return;
    }
    window.setState(entry, 'backoff');
    entry.backoff = this.context.deadlines.schedule(this.context.clock.monotonicMs() + delayMs, () => {
      entry.backoff = undefined;
      if (entry.state === 'backoff' && window.holds(entry)) this.makeReady(entry);
    });
  }

  private makeReady(entry: Entry): void {
    this.windows[entry.partition]!.setState(entry, 'ready');
    this.ordering.enqueue(entry);
    this.schedulePump();
  }

  /**
   * 'partition' ordering: every later record of the partition in flight comes again, in order.
   * They are all below the cursor (`cursorSeq`, where it was before `failed` was taken back):
   * records go out from it only, and it moves back only past records taken back with every later
   * one in flight. So only the seqs between the failed record and the cursor are looked at, each
   * passed by the cursor since it last moved back. Looking at the whole window made deliveries
   * failed in reverse order cost O(n^2): 32,000 nacks took 24 s.
   */
  private goBack(window: PartitionWindow, failed: Entry, cursorSeq = window.cursorSeq): void {
    for (let seq = failed.seq + 1; seq < cursorSeq; seq++) {
      const entry = window.at(seq);
      if (entry?.state === 'inflight') this.revoke(entry, 'goBack');
    }
    if (failed.seq < window.cursorSeq) window.cursorSeq = failed.seq;
  }

  /** `member` starts to close: what it will never get (handOut: 'unjournaled') goes back now. */
  protected giveBackUnjournaled(member: Member): void {
    for (const window of this.windows) {
      for (const entry of window.entries()) {
        if (entry.flight?.member === member && entry.flight.reach === 'unjournaled') this.revoke(entry, 'memberLeft');
      }
    }
  }

  /**
   * Takes a delivery back without a nack or an expiry (member left, rebalance, go-back). Its
   * member leaving (a crash: its handler may have failed on it) counts as a failed attempt: on
   * the last allowed one the record is dead-lettered, not delivered again. A go-back or a
   * rebalance is no fault of its handler: the delivery still counts (the next deliveryCount is
   * one more), but the next attempt is owed (Entry.attemptOwed), even past maxDeliveries.
   * Taken back before it reached the member (Flight.reach), the attempt is given back (in the
   * journal too, and whether it was owed) and the record goes out again at once with the same
   * deliveryCount. One its sink held unsent had been announced by a `delivered` event, so a
   * `redelivered` event ('unsent') says it is over; one still being journaled was never
   * announced, and is simply ready again.
   */
  protected revoke(entry: Entry, reason: RedeliveryReason): void {
    const window = this.windows[entry.partition]!;
    const flight = entry.flight!;
    this.endFlight(entry);
    if (flight.reach !== 'handedOut') {
      window.ack.restoreAttempts(entry.offset, flight.deliveryCount - 1);
      entry.attemptOwed = flight.owed;
      // If this write fails, a restart counts the attempt after all: one more than delivered.
      this.journal.attemptGivenBack(entry.partition, entry.offset, flight.deliveryCount - 1).catch(() => undefined);
      if (flight.reach === 'held') {
        flight.reach = 'givenBack';
        this.scheduleRedelivery(entry, 'unsent', 0);
      } else {
        this.makeReady(entry);
      }
    } else if (reason === 'goBack' || reason === 'rebalance') {
      entry.attemptOwed = true;
      this.scheduleRedelivery(entry, reason, 0);
    } else {
      entry.lastFailureReason = undefined;
      const exhausted = this.outOfAttempts(entry, reason);
      if (exhausted) this.deadLetterInBackground(entry, exhausted);
      else this.scheduleRedelivery(entry, reason, 0);
    }
    if (entry.seq < window.cursorSeq) window.cursorSeq = entry.seq;
  }

  /**
   * The dead-letter reason if `entry` has had all maxDeliveries attempts, else undefined:
   * `<cause> on attempt <n> of maxDeliveries <max>`, then `; last failure: <reason>` when its
   * last failed attempt was nacked with a reason (Entry.lastFailureReason).
   */
  private outOfAttempts(entry: Entry, cause: string): string | undefined {
    const attempts = this.windows[entry.partition]!.ack.attempts(entry.offset);
    const max = this.config.maxDeliveries;
    if (attempts < max) return undefined;
    const last = entry.lastFailureReason === undefined ? '' : `; last failure: ${entry.lastFailureReason}`;
    return `${cause} on attempt ${attempts} of maxDeliveries ${max}${last}`;
  }

  /**
   * Dead-letters without a caller waiting. Its only failure left is the journal write of the ack
   * (the copy is retried inside): kept in `lastError`; after a restart the record is read again,
   * finds no attempts left and is dead-lettered again (at-least-once, like every delivery).
   */
  private deadLetterInBackground(entry: Entry, reason: string): void {
    this.deadLetter(entry, reason).catch((error: unknown) => {
      this.lastError = error;
    });
  }

  /**
   * Copies the record to the dead-letter topic, then counts it as acked. If that append fails
   * (disk full, a full dead-letter topic...), it is tried again after backoff.maxMs, its failure
   * shown meanwhile (deadLetterProblem): the record is never redelivered to
   * consumers once it has used up its attempts, and never acked before it is safely copied.
   */
  private async deadLetter(entry: Entry, reason: string): Promise<void> {
    const window = this.windows[entry.partition]!;
    window.setState(entry, 'deadLettering');
    const deliveryCount = window.ack.attempts(entry.offset);
    // One topic for the whole copy: a reconfigure meanwhile (a new member) may name another.
    const { deadLetterTopic } = this.config;
    // undefined: the copy failed, and is tried again below (describeGroup shows why meanwhile).
    const deadLetterOffset = await this.context.deadLetter(entry, this, deadLetterTopic, deliveryCount, reason).catch((error: unknown) => {
      this.deadLetterFailure = error;
      return undefined;
    });
    // The group ended during the copy (deleted, its topic deleted, the broker closing): no count,
    // no event and no retry of it come after its end; a copy made stays in the dead-letter topic.
    if (this.closed) return;
    if (deadLetterOffset === undefined) {
      entry.backoff = this.context.deadlines.schedule(this.context.clock.monotonicMs() + this.config.backoff.maxMs, () => {
        entry.backoff = undefined;
        if (window.holds(entry) && !this.closed) this.deadLetterInBackground(entry, reason);
      });
      return;
    }
    window.deadLettered += 1;
    const durable = this.complete(entry);
    this.report.deadLettered(entry, deliveryCount, reason, deadLetterTopic, deadLetterOffset);
    await durable;
  }

  /** Acked or dead-lettered: the record leaves the window and the ack is journaled. */
  private complete(entry: Entry): Promise<void> {
    const window = this.windows[entry.partition]!;
    if (!window.holds(entry)) return Promise.resolve();
    window.remove(entry);
    window.ack.ack(entry.offset, entry.nextOffset);
    this.ordering.release(entry);
    this.schedulePump();
    return this.journal.ack(entry.partition, entry.offset, entry.nextOffset);
  }

  /**
   * The attempt is over: `settled` by its consumer (ack, nack, reject), or else taken back, which
   * its member's sink hears of if the delivery had reached it (Member.onTakenBack).
   */
  protected endFlight(entry: Entry, settled = false): void {
    const flight = entry.flight;
    if (!flight) return;
    entry.flight = undefined;
    this.leases.end(flight);
    flight.member.release();
    if (!settled && flight.reach === 'handedOut') flight.member.onTakenBack?.(flight);
    // The member has credit again: another ready record may go to it now, not at the next event.
    this.schedulePump();
  }
}
