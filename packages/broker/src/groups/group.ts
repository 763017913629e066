/**
 * One consumer group on one topic: its members, a window per partition, and the pump that moves
 * records from the log to members.
 *
 * The pump runs one step at a time (never two at once): read more records into windows that run
 * low, let the ordering strategy assign ready records to members with credit, record the
 * attempts in the journal, then hand the deliveries out; while the journal writes, the windows
 * read the next round ahead. Everything that can make progress
 * possible (an ack, a new record, a backoff ending, a member joining) schedules another step.
 * What becomes of each attempt once started is GroupAttempts' (group-attempts.ts).
 */
import { BrookError, assert, isBrookError } from '@brook/protocol';
import { GroupAttempts } from './group-attempts.js';
import { Pump } from './pump.js';
import { Member } from './member.js';
import { PartitionOrdering, orderingFor } from './orderings.js';
import type { Flight } from './flight.js';
import type { Entry } from './partition-window.js';
import { fillWindows } from './window-reader.js';
import type { GroupConfig } from './subscribe-options.js';
import { StepRetry } from './step-retry.js';
import type { RebalanceReason } from '../events.js';

export class Group extends GroupAttempts {
  readonly members: Member[] = [];
  private memberSeq = 0;
  private readonly pump = new Pump(() => this.step());
  private readonly stepRetry = new StepRetry(this.context, () => this.config.backoff, () => this.schedulePump());

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
    this.rebalance('memberJoined', member);
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
    this.rebalance('memberLeft', member);
    this.schedulePump();
  }

  /** Graceful leave: nothing new is delivered; waits for what the member holds to be settled. */
  async drainAndLeave(member: Member): Promise<void> {
    member.closing = true;
    this.giveBackUnjournaled(member);
    this.rebalance('memberClosing', member);
    // 'partition': what it gave up goes to the others now, not once something else runs a step.
    this.schedulePump();
    await member.idle();
    this.leave(member);
  }

  /** Why the journal refuses every write until the broker is reopened; undefined while it is healthy. */
  get journalFailure(): BrookError | undefined {
    return this.journal.failure;
  }

  /**
   * Why the journal refuses writes (until a reopen: every ack fails with it), else why the pump's
   * last step failed, else why changes wait unwritten (a full disk), else the journal's last
   * compaction, else a dead-letter copy waiting to be tried again; undefined when none.
   */
  get problem(): unknown {
    return this.journal.failure ?? this.lastError ?? this.journal.refusedWrite ?? this.journal.compactionFailure ?? this.deadLetterProblem;
  }

  /** Something changed that may let records move: run the pump soon (once, however many ask). */
  schedulePump(): void {
    this.pump.schedule();
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
    // A read under way when the group ended (deleted, its topic deleted, the broker closing) may
    // still meet the deleted records: a group that is gone loses nothing, and no event names it.
    if (this.closed) return;
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
    this.stepRetry.cancel();
    this.endAttempts(ending);
    for (const member of [...this.members]) member.left = true;
    await this.journal.close();
  }

  /**
   * One step of the pump: read, assign, hand out. A failure to read the log or write the journal
   * ends the step; it is kept in `lastError` (describeGroup shows it) and the next event that
   * schedules the pump tries again, or else the step's own retry (StepRetry). Records
   * already assigned stay in flight and come back when their leases expire.
   */
  private async step(): Promise<void> {
    if (this.closed) return;
    try {
      const reading = this.fill((member) => Math.max(0, member.credit));
      if (reading) await reading;
      const flights: Flight[] = [];
      const now = this.context.clock.monotonicMs();
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
      this.readAhead = false;
      const readingAhead = this.fill((member) => (member.closing || member.left ? 0 : member.maxInFlight));
      if (handing && readingAhead) await settleBoth(handing, readingAhead);
      else await (handing ?? readingAhead);
      this.lastError = undefined;
      this.stepRetry.succeeded();
      // A member still had room after the assignment, so no ack will come to run the next step:
      // what was read ahead for it ('key': other keys, behind a key's records that all blocked) goes now.
      if (this.readAhead && this.members.some((member) => member.credit > 0)) this.schedulePump();
    } catch (error) {
      this.lastError = error;
      // Not a failure no retry can get past (a damaged batch, a journal that refuses writes until
      // a reopen): retried for ever, it would keep a virtual clock from ever running idle.
      if (isBrookError(error) && error.retriable && this.journal.failure === undefined) this.stepRetry.failed();
    }
  }

  /** Reads ahead a share of `credit` over the members into the windows: fillWindows. */
  private fill(creditOf: (member: Member) => number): Promise<void> | undefined {
    let credit = 0;
    for (const member of this.members) credit += creditOf(member);
    return fillWindows(this.windows, credit, this.context, this.config.ordering === 'key', this.enqueue, this.overtaken);
  }

  /** True once the step's read-ahead has taken a record into a window. */
  private readAhead = false;
  private readonly enqueue = (entry: Entry): void => {
    this.ordering.enqueue(entry);
    // Only a record a member could take now: one behind a busy key waits for that key's ack,
    // which runs a step of its own.
    if (entry.state === 'ready') this.readAhead = true;
  };
  private readonly overtaken = (partition: number, startOffset: bigint): Promise<void> => this.overtakenBy(partition, startOffset);

  protected markLeaseLost(member: Member, lost: boolean): void {
    if (member.left || member.leaseLost === lost) return;
    member.leaseLost = lost;
    this.rebalance(lost ? 'leaseLost' : 'leaseRegained', member);
    this.schedulePump();
  }

  private rebalance(reason: RebalanceReason, member: Member): void {
    if (this.config.ordering !== 'partition') return;
    const revoke = (entry: Entry): void => this.revoke(entry, 'rebalance');
    if (PartitionOrdering.reassign(this.members, this.windows, revoke)) this.report.rebalanced(this.windows, reason, member);
  }
}

/** Waits for both, then fails with the first failure: neither outlives the step. */
async function settleBoth(first: Promise<void>, second: Promise<void>): Promise<void> {
  const [a, b] = await Promise.allSettled([first, second]);
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
}
