/**
 * One consumer group on one topic: its members, a window per partition, and the pump that moves
 * records from the log to members.
 *
 * The pump runs one step at a time (never two at once): read more records into windows that run
 * low, let the ordering strategy assign ready records to members with credit, record the
 * attempts in the journal, then hand the deliveries out; while the journal writes, the windows
 * read the next round ahead. Everything that can make progress
 * possible (an ack, a new record, a backoff ending, a member joining) schedules another step.
 */
import { BrookError, assert } from '@brook/protocol';
import type { RedeliveryReason } from '../events.js';
import { Flight, type FlightOwner } from './flight.js';
import type { GroupJournal } from './group-journal.js';
import { GroupEvents } from './group-events.js';
import { LeaseQueue } from './lease-queue.js';
import { Pump } from './pump.js';
import { Member } from './member.js';
import { PartitionOrdering, orderingFor, type OrderingStrategy } from './orderings.js';
import type { GroupContext } from './group-context.js';
import type { Entry, PartitionWindow } from './partition-window.js';
import { fillWindows } from './window-reader.js';
import { backoffDelayMs, type GroupConfig } from './subscribe-options.js';

/** What ack() and reject() of a stale delivery return. */
const STALE = handledRejection(new BrookError('DELIVERY_STALE', 'the delivery was taken back before it was settled: the record is delivered again'));

export class Group implements FlightOwner {
  readonly windows: PartitionWindow[];
  readonly members: Member[] = [];
  private ordering: OrderingStrategy;
  private readonly leases: LeaseQueue<Flight>;
  private readonly report: GroupEvents;
  private memberSeq = 0;
  private readonly pump = new Pump(() => this.step());
  lastError: unknown;
  private closed = false;
  /** Once closed: what ack() and reject() of its deliveries return instead of STALE (nothing comes again). */
  private ending: Promise<never> | undefined;

  constructor(
    readonly topic: string,
    readonly name: string,
    public config: GroupConfig,
    private readonly journal: GroupJournal,
    windows: PartitionWindow[],
    private readonly context: GroupContext,
  ) {
    this.windows = windows;
    this.ordering = orderingFor(config, windows);
    this.leases = new LeaseQueue<Flight>(context.clock, context.deadlines, (flight) => this.expire(flight));
    this.report = new GroupEvents(context.events, topic, name);
  }

  /** New settings for a group without members: held records are read again under the new ordering
   * (but those being dead-lettered, which stay and, in 'key', keep their key). */
  reconfigure(config: GroupConfig): void {
    this.config = config;
    for (const window of this.windows) window.rewind();
    this.ordering = orderingFor(config, this.windows);
    this.ordering.rebuild(this.windows);
  }

  /**
   * Acks an offset of a group that has no members, without a delivery (redrive keeps its
   * progress this way). Resolves once the ack is durable.
   */
  ackDirectly(partition: number, offset: bigint): Promise<void> {
    assert(this.members.length === 0, 'direct ack on a group with members', { group: this.name });
    this.windows[partition]!.ack.ack(offset);
    return this.journal.ack(partition, offset);
  }

  join(maxInFlight: number, name: string | undefined, sink: Member['sink']): Member {
    const seq = this.memberSeq++;
    const member = new Member(`${this.name}-${seq}`, name ?? `${this.name}-${seq}`, maxInFlight, seq, sink);
    this.members.push(member);
    this.rebalance();
    this.schedulePump();
    return member;
  }

  /** Removes a member at once (a crash): whatever it holds is redelivered to the others. */
  leave(member: Member): void {
    if (member.left) return;
    member.left = true;
    for (const window of this.windows) {
      for (const entry of window.entries()) if (entry.flight?.member === member) this.revoke(entry, 'memberLeft');
    }
    this.members.splice(this.members.indexOf(member), 1);
    this.rebalance();
    this.schedulePump();
  }

  /** Graceful leave: nothing new is delivered; waits for what the member holds to be settled. */
  async drainAndLeave(member: Member): Promise<void> {
    member.closing = true;
    this.rebalance();
    await member.idle();
    this.leave(member);
  }

  /** Why the pump's last step failed, else why the journal's last compaction did; undefined when neither. */
  get problem(): unknown {
    return this.lastError ?? this.journal.compactionFailure;
  }

  /** Something changed that may let records move: run the pump soon (once, however many ask). */
  schedulePump(): void {
    this.pump.schedule();
  }

  /** Resolves once the ack is durable: with every other ack of its journal flush, one promise for all. */
  ack(flight: Flight): Promise<void> {
    if (!flight.current) return this.ending ?? STALE;
    this.report.acked(flight);
    this.endFlight(flight.entry);
    return this.complete(flight.entry);
  }

  nack(flight: Flight, delayMs: number | undefined): void {
    if (!flight.current) return;
    this.report.nacked(flight, delayMs);
    this.endFlight(flight.entry);
    this.retry(flight.entry, 'nack', delayMs);
  }

  extend(flight: Flight, ms: number | undefined): void {
    if (flight.current) this.leases.extend(flight, this.context.clock.now() + (ms ?? this.config.ackTimeoutMs));
  }

  reject(flight: Flight, reason: string): Promise<void> {
    if (!flight.current) return this.ending ?? STALE;
    this.endFlight(flight.entry);
    return this.deadLetter(flight.entry, `rejected: ${reason}`);
  }

  /** Replay or skip: every partition restarts at the given offset; all in flight becomes stale. */
  async resetTo(offsets: readonly bigint[]): Promise<void> {
    for (const window of this.windows) {
      for (const entry of window.entries()) if (entry.flight) this.endFlight(entry);
      window.restartAt(offsets[window.partition]!);
    }
    this.ordering.rebuild(this.windows);
    // Now, not once journaled: from here on the old deliveries are stale and a retention pass
    // counts losses from the new positions, so later events already describe the reset group.
    this.report.reset(offsets);
    await Promise.all(this.windows.map((w) => this.journal.reset(w.partition, w.ack.ackFloor)));
    this.schedulePump();
  }

  /**
   * Retention deleted records below `startOffset`: count what this group lost and move on. The
   * records above stay as they were (acks, attempts, deliveries): forgetting them would deliver them again.
   */
  async overtakenBy(partition: number, startOffset: bigint): Promise<void> {
    const window = this.windows[partition]!;
    const floor = window.ack.ackFloor;
    if (floor >= startOffset) return;
    const lost = window.ack.unackedBelow(startOffset);
    // Queues skip what the window no longer holds; a key held by a dropped record goes to its next.
    for (const entry of window.skipTo(startOffset)) {
      this.endFlight(entry);
      this.ordering.release(entry);
    }
    window.lostToRetention += lost;
    this.report.retentionDropped(partition, startOffset, lost);
    await this.journal.skip(partition, floor, startOffset);
    this.schedulePump();
  }

  /**
   * The group ends: its topic was deleted, or the broker closes. Its deliveries are taken back,
   * so a later ack() or reject() changes nothing and rejects with `ending` (not DELIVERY_STALE:
   * the record will not come again), a graceful close() of a member resolves at once, and no
   * lease, backoff or dead-letter retry of the group fires any more.
   */
  async close(ending: BrookError): Promise<void> {
    this.closed = true;
    this.ending = handledRejection(ending);
    for (const window of this.windows) {
      for (const entry of window.entries()) this.endFlight(entry);
      window.clear();
    }
    this.leases.clear();
    for (const member of [...this.members]) member.left = true;
    await this.journal.close();
  }

  /**
   * One step of the pump: read, assign, hand out. A failure to read the log or write the journal
   * ends the step; it is kept in `lastError` (describeGroup shows it) and the next event that
   * schedules the pump tries again. Records already assigned stay in flight and come back when
   * their leases expire.
   */
  private async step(): Promise<void> {
    if (this.closed) return;
    try {
      const reading = this.fill((member) => Math.max(0, member.credit));
      if (reading) await reading;
      const flights: Flight[] = [];
      const now = this.context.clock.now();
      this.ordering.assign(this.members, this.windows, (entry, member) => {
        const flight = this.startFlight(entry, member, now);
        if (flight) flights.push(flight);
      });
      // While the attempts are journaled, read a round of the members' whole credit ahead: the
      // next step, once acks free credit, finds its records in the window instead of waiting for
      // the log first. Both are awaited, so no read outlives its step. Either may be nothing to
      // wait for: a step of a few records at a time (a trickle of produces) makes no promise
      // it does not need, so it gives the garbage collector less to do between records.
      const handing = flights.length > 0 ? this.handOut(flights) : undefined;
      const readingAhead = this.fill((member) => (member.closing || member.left ? 0 : member.maxInFlight));
      if (handing && readingAhead) await settleBoth(handing, readingAhead);
      else await (handing ?? readingAhead);
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error;
    }
  }

  /** Reads ahead a share of `credit` over the members into the windows: fillWindows. */
  private fill(creditOf: (member: Member) => number): Promise<void> | undefined {
    let credit = 0;
    for (const member of this.members) credit += creditOf(member);
    return fillWindows(this.windows, credit, this.context, this.config.ordering === 'key', this.enqueue, this.overtaken);
  }

  private readonly enqueue = (entry: Entry): void => this.ordering.enqueue(entry);
  private readonly overtaken = (partition: number, startOffset: bigint): Promise<void> => this.overtakenBy(partition, startOffset);

  /**
   * Starts an attempt: counts it, journals it (durable with the next flush) and leases it. Its
   * last allowed attempt cut short by a broker restart (or maxDeliveries lowered), the record
   * is dead-lettered instead: another delivery would exceed maxDeliveries.
   */
  private startFlight(entry: Entry, member: Member, now: number): Flight | undefined {
    const exhausted = this.outOfAttempts(entry, 'interrupted');
    if (exhausted) {
      member.release();
      this.deadLetterInBackground(entry, exhausted);
      return undefined;
    }
    const window = this.windows[entry.partition]!;
    const deliveryCount = window.ack.recordAttempt(entry.offset);
    this.journal.attempt(entry.partition, entry.offset, deliveryCount);
    const flight = new Flight(this, entry, member, deliveryCount);
    this.leases.grant(flight, now + this.config.ackTimeoutMs);
    entry.flight = flight;
    window.setState(entry, 'inflight');
    return flight;
  }

  /** Once the attempts are journaled, gives the deliveries still current to their members. */
  private async handOut(flights: readonly Flight[]): Promise<void> {
    await this.journal.flush();
    for (const flight of flights) {
      if (!flight.current || flight.member.left) continue;
      if (flight.member.closing) {
        // It began to close while the attempt was being journaled: it gets nothing new.
        this.revoke(flight.entry, 'memberLeft');
        continue;
      }
      flight.handedOut = true;
      this.report.delivered(flight);
      flight.member.sink(flight);
    }
  }

  private expire(flight: Flight): void {
    if (!flight.current) return;
    this.report.leaseExpired(flight);
    this.endFlight(flight.entry);
    this.retry(flight.entry, 'leaseExpired', undefined);
  }

  /** A failed attempt: dead-letter it if it was the last allowed, else redeliver after a backoff. */
  private retry(entry: Entry, reason: RedeliveryReason, delayMs: number | undefined): void {
    const window = this.windows[entry.partition]!;
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
    entry.backoff = this.context.deadlines.schedule(this.context.clock.now() + delayMs, () => {
      entry.backoff = undefined;
      if (entry.state === 'backoff' && window.holds(entry)) this.makeReady(entry);
    });
  }

  private makeReady(entry: Entry): void {
    this.windows[entry.partition]!.setState(entry, 'ready');
    this.ordering.enqueue(entry);
    this.schedulePump();
  }

  /** 'partition' ordering: every later record of the partition in flight comes again, in order. */
  private goBack(window: PartitionWindow, failed: Entry): void {
    for (const entry of window.entries()) {
      if (entry.seq > failed.seq && entry.state === 'inflight') this.revoke(entry, 'goBack');
    }
    if (failed.seq < window.cursorSeq) window.cursorSeq = failed.seq;
  }

  /**
   * Takes a delivery back without a nack or an expiry (member left, rebalance, go-back). The
   * attempt still counts: on the last allowed one the record is dead-lettered, not delivered again.
   * Taken back while its attempt was being journaled, it never reached the member: the attempt is
   * given back (in the journal too) and the record is simply ready again, not a redelivery.
   */
  private revoke(entry: Entry, reason: RedeliveryReason): void {
    const window = this.windows[entry.partition]!;
    const flight = entry.flight!;
    this.endFlight(entry);
    if (!flight.handedOut) {
      window.ack.restoreAttempts(entry.offset, flight.deliveryCount - 1);
      // If this write fails, a restart counts the attempt after all: one more than delivered.
      this.journal.attemptGivenBack(entry.partition, entry.offset, flight.deliveryCount - 1).catch(() => undefined);
      this.makeReady(entry);
    } else {
      const exhausted = this.outOfAttempts(entry, reason);
      if (exhausted) this.deadLetterInBackground(entry, exhausted);
      else this.scheduleRedelivery(entry, reason, 0);
    }
    if (entry.seq < window.cursorSeq) window.cursorSeq = entry.seq;
  }

  /** The dead-letter reason if `entry` has had all maxDeliveries attempts, else undefined. */
  private outOfAttempts(entry: Entry, cause: string): string | undefined {
    const attempts = this.windows[entry.partition]!.ack.attempts(entry.offset);
    const max = this.config.maxDeliveries;
    return attempts >= max ? `${cause} on attempt ${attempts} of maxDeliveries ${max}` : undefined;
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
   * (disk full...), it is tried again after backoff.maxMs: the record is never redelivered to
   * consumers once it has used up its attempts, and never acked before it is safely copied.
   */
  private async deadLetter(entry: Entry, reason: string): Promise<void> {
    const window = this.windows[entry.partition]!;
    window.setState(entry, 'deadLettering');
    const deliveryCount = window.ack.attempts(entry.offset);
    // One topic for the whole copy: a reconfigure meanwhile (a new member) may name another.
    const { deadLetterTopic } = this.config;
    // undefined: the copy failed, and is tried again below.
    const deadLetterOffset = await this.context.deadLetter(entry, this, deadLetterTopic, deliveryCount, reason).catch(() => undefined);
    // The group ended during the copy (deleted, its topic deleted, the broker closing): no count,
    // no event and no retry of it come after its end; a copy made stays in the dead-letter topic.
    if (this.closed) return;
    if (deadLetterOffset === undefined) {
      entry.backoff = this.context.deadlines.schedule(this.context.clock.now() + this.config.backoff.maxMs, () => {
        entry.backoff = undefined;
        if (window.holds(entry) && !this.closed) this.deadLetterInBackground(entry, reason);
      });
      return;
    }
    window.deadLettered += 1;
    this.report.deadLettered(entry, deliveryCount, reason, deadLetterTopic, deadLetterOffset);
    await this.complete(entry);
  }

  /** Acked or dead-lettered: the record leaves the window and the ack is journaled. */
  private complete(entry: Entry): Promise<void> {
    const window = this.windows[entry.partition]!;
    if (!window.holds(entry)) return Promise.resolve();
    window.remove(entry);
    window.ack.ack(entry.offset);
    this.ordering.release(entry);
    this.schedulePump();
    return this.journal.ack(entry.partition, entry.offset);
  }

  private endFlight(entry: Entry): void {
    const flight = entry.flight;
    if (!flight) return;
    entry.flight = undefined;
    this.leases.end(flight);
    flight.member.release();
    // The member has credit again: another ready record may go to it now, not at the next event.
    this.schedulePump();
  }

  private rebalance(): void {
    if (this.config.ordering !== 'partition') return;
    const revoke = (entry: Entry): void => this.revoke(entry, 'rebalance');
    if (PartitionOrdering.reassign(this.members, this.windows, revoke)) this.report.rebalanced(this.windows);
  }
}

/** A rejected promise marked handled: a handler's implicit ack never looks at it, whoever awaits it gets it. */
function handledRejection(error: BrookError): Promise<never> {
  const rejected = Promise.reject(error);
  rejected.catch(() => undefined);
  return rejected;
}

/** Waits for both, then fails with the first failure: neither outlives the step. */
async function settleBoth(first: Promise<void>, second: Promise<void>): Promise<void> {
  const [a, b] = await Promise.allSettled([first, second]);
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
}
