/**
 * The three ordering modes, as strategies that decide which ready record goes to which member.
 * The group does everything else (leases, acks, backoff, dead letters) the same way for all.
 *
 *   none       a FIFO of ready records (redeliveries first), to members round-robin in runs
 *   key        the same, but at most one record per key in flight or backing off: a record whose
 *              key is held waits, in order, behind it ("blocked"), and is released when the
 *              holder is acked or dead-lettered
 *   partition  each partition owned by one member; records go out strictly in offset order from
 *              a cursor, and a redelivery of n moves the cursor back to n (go-back-N)
 */
import { assert } from '@brook/protocol';
import { Fifo } from './fifo.js';
import type { Member } from './member.js';
import type { Entry, PartitionWindow } from './partition-window.js';
import type { GroupConfig } from './subscribe-options.js';

/** Called for each record given to a member, whose credit the strategy has already reserved. */
export type Assign = (entry: Entry, member: Member) => void;

export interface OrderingStrategy {
  /** An entry became ready (fresh, backoff over, or revoked). */
  enqueue(entry: Entry): void;
  /** Hands ready entries to members with credit, reserving that credit. */
  assign(members: readonly Member[], windows: readonly PartitionWindow[], assign: Assign): void;
  /** The entry is done (acked or dead-lettered): release what it held. */
  release(entry: Entry): void;
  /**
   * Starts over once the windows have forgotten their records (a reset, or a reconfigure's
   * rewind): nothing queued, and the only records they kept, those being dead-lettered, hold their keys.
   */
  rebuild(windows: readonly PartitionWindow[]): void;
}

/**
 * The shortest run 'none' deals to one member (while it has credit). Splitting a few
 * records over several members balances nothing worth having and multiplies the per-run costs:
 * each run is a DELIVER frame, a settle request and its answer, and a journal range. At 5 records
 * a millisecond over two members that was 5 socket writes a tick in the server instead of 3, and
 * socket writes are most of its CPU at such rates (docs/benchmarks-history.md, "'none' in runs of at
 * least 32 records").
 * Members still take turns: the ring moves on after every run, so a trickle alternates between
 * them, and a backlog is still shared evenly.
 */
const RUN_RECORDS_MIN = 32;

/**
 * Round-robin over members with credit, remembering whose turn it is. The turn passes only with a
 * run given: a step that finds nothing to deal (a member joined, an ack came) must not move it,
 * or the member that just had a run gets the next one too (a member whose leases keep running out
 * got every redelivery, its healthy peer none, until the records were dead-lettered).
 */
class MemberRing {
  /**
   * The joinSeq of the member given the last run; the next member in join order has the turn,
   * even once that one has left. A number, not the Member: a member that left (a closed
   * connection's session, its socket) must not stay reachable until the next run is dealt.
   */
  private lastJoinSeq = -1;

  /** The first member with credit, from the one whose turn it is. */
  peek(members: readonly Member[]): Member | undefined {
    let next = 0;
    // Members are kept in join order, so the turn is at the first that joined after the last run's.
    while (next < members.length && members[next]!.joinSeq <= this.lastJoinSeq) next += 1;
    for (let i = 0; i < members.length; i++) {
      const member = members[(next + i) % members.length]!;
      if (member.credit > 0) return member;
    }
    return undefined;
  }

  /** `member` was given a run: the turn goes to the one after it. */
  passed(member: Member): void {
    this.lastJoinSeq = member.joinSeq;
  }
}

/** A FIFO with a priority lane; entries that are no longer ready when reached are skipped. */
class ReadyQueue {
  private readonly priority = new Fifo<Entry>();
  private readonly normal = new Fifo<Entry>();

  push(entry: Entry, urgent: boolean): void {
    (urgent ? this.priority : this.normal).push(entry);
  }

  shift(isLive: (entry: Entry) => boolean): Entry | undefined {
    for (let entry = this.priority.shift(); entry; entry = this.priority.shift()) if (isLive(entry)) return entry;
    for (let entry = this.normal.shift(); entry; entry = this.normal.shift()) if (isLive(entry)) return entry;
    return undefined;
  }

  clear(): void {
    this.priority.clear();
    this.normal.clear();
  }
}

export class NoneOrdering implements OrderingStrategy {
  protected readonly queue = new ReadyQueue();
  private readonly ring = new MemberRing();

  constructor(protected readonly windows: readonly PartitionWindow[]) {}

  enqueue(entry: Entry): void {
    this.queue.push(entry, this.goesFirst(entry));
  }

  /** Fresh records join the back; anything delivered before goes first, so retries are not starved. */
  protected goesFirst(entry: Entry): boolean {
    return this.windows[entry.partition]!.ack.attempts(entry.offset) > 0;
  }

  /**
   * Deals the ready records out in runs, one run per member with credit in turn, rather than one
   * record each: a member then holds consecutive offsets, so its acks come back as ranges (one
   * journal range, the ack floor moving in order) instead of every other offset, which would cost
   * a journal range and an out-of-order ack per record.
   */
  assign(members: readonly Member[], windows: readonly PartitionWindow[], assign: Assign): void {
    const run = this.runLength(members, windows);
    for (let member = this.ring.peek(members); member; member = this.ring.peek(members)) {
      let given = 0;
      // Credit first: a record taken must go to this member.
      for (let entry: Entry | undefined; given < run && member.credit > 0 && (entry = this.take()); given++) {
        member.inFlight += 1;
        assign(entry, member);
      }
      if (given > 0) this.ring.passed(member);
      // It still had room for more of its run: nothing is left to deal.
      if (given < run && member.credit > 0) return;
    }
  }

  release(_entry: Entry): void {}

  /** An even share of what waits, per member with credit, but no shorter than RUN_RECORDS_MIN. */
  protected runLength(members: readonly Member[], windows: readonly PartitionWindow[]): number {
    let waiting = 0;
    for (const window of windows) waiting += window.undelivered;
    let open = 0;
    for (const member of members) if (member.credit > 0) open += 1;
    return Math.max(RUN_RECORDS_MIN, Math.ceil(waiting / Math.max(1, open)));
  }

  rebuild(windows: readonly PartitionWindow[]): void {
    // A record kept in any other state would never be queued again: stuck, its lag never falling.
    for (const window of windows) {
      for (const entry of window.entries()) {
        assert(entry.state === 'deadLettering', 'a window kept a record not being dead-lettered across a reset or rewind', { offset: entry.offset, state: entry.state });
      }
    }
    this.queue.clear();
  }

  protected take(): Entry | undefined {
    return this.queue.shift(this.isLive);
  }

  /** Made once: an arrow function written in take() would be a closure allocated per record. */
  private readonly isLive = (entry: Entry): boolean => entry.state === 'ready' && this.windows[entry.partition]!.holds(entry);
}

/** One key's turn: the entry holding it and the entries waiting behind it, in offset order. */
interface KeyLane {
  holder: Entry | undefined;
  readonly waiting: Fifo<Entry>;
}

export class KeyOrdering extends NoneOrdering {
  /**
   * Per key: its holder (from its first delivery, or from when its predecessor released the key
   * to it, until it is acked or dead-lettered) and what waits behind it ("blocked"). One map
   * lookup a take and a release; a lane goes once it is idle.
   */
  private readonly lanes = new Map<string, KeyLane>();

  /**
   * A record of a key goes first only as its key's holder (a redelivery). One that is not had its
   * attempts under another ordering (before a reconfigure): ahead of the earlier records of its
   * key still waiting at the back, it would take the key out of offset order.
   */
  protected override goesFirst(entry: Entry): boolean {
    if (!super.goesFirst(entry)) return false;
    return entry.keyId === undefined || this.lanes.get(entry.keyId)?.holder === entry;
  }

  /** One record per turn: keys spread over members. */
  protected override runLength(): number {
    return 1;
  }

  override release(entry: Entry): void {
    const lane = entry.keyId === undefined ? undefined : this.lanes.get(entry.keyId);
    if (lane?.holder !== entry) return;
    // Waiting records retention or a reset dropped are skipped: the next one still held gets the key.
    let next = lane.waiting.shift();
    while (next && !this.windows[next.partition]!.holds(next)) next = lane.waiting.shift();
    if (!next) {
      this.lanes.delete(entry.keyId!);
      return;
    }
    // It holds the key from now, not from when it is taken: should retention drop it first, its
    // own release hands the key on to those still waiting behind it.
    lane.holder = next;
    this.windows[next.partition]!.setState(next, 'ready');
    this.queue.push(next, true);
  }

  override rebuild(windows: readonly PartitionWindow[]): void {
    this.lanes.clear();
    // Each record kept is being dead-lettered: its key waits for the copy (PartitionWindow.rewind).
    for (const window of windows) {
      for (const entry of window.entries()) if (entry.keyId !== undefined) this.laneOf(entry.keyId).holder = entry;
    }
    super.rebuild(windows);
  }

  protected override take(): Entry | undefined {
    for (let entry = super.take(); entry; entry = super.take()) {
      if (entry.keyId === undefined) return entry;
      const lane = this.laneOf(entry.keyId);
      const holder = lane.holder;
      if (holder === undefined || holder === entry || !this.windows[holder.partition]!.holds(holder)) {
        lane.holder = entry;
        return entry;
      }
      this.windows[entry.partition]!.setState(entry, 'blocked');
      lane.waiting.push(entry);
    }
    return undefined;
  }

  private laneOf(keyId: string): KeyLane {
    let lane = this.lanes.get(keyId);
    if (lane === undefined) this.lanes.set(keyId, (lane = { holder: undefined, waiting: new Fifo() }));
    return lane;
  }
}

export class PartitionOrdering implements OrderingStrategy {
  /** The partition served first in the next step. */
  private first = 0;

  enqueue(_entry: Entry): void {}

  /**
   * Each owner takes its partitions' ready records in offset order while it has credit. Which
   * partition goes first moves on every step: a member owning several partitions serves them in
   * turn, so a steady backlog on one cannot take all its credit step after step and starve another.
   */
  assign(_members: readonly Member[], windows: readonly PartitionWindow[], assign: Assign): void {
    const count = windows.length;
    for (let i = 0; i < count; i++) {
      const window = windows[(this.first + i) % count]!;
      const owner = window.owner;
      const readSeq = window.readSeq;
      while (owner && owner.credit > 0) {
        // Absent (acked) or being dead-lettered: either way never delivered again, so not waited
        // for. A go-back, a take-back on a last attempt or a rewind can put the cursor on a record
        // whose copy waits (a full dead-letter topic), which would hold up the partition.
        while (window.cursorSeq < readSeq && passed(window.at(window.cursorSeq))) window.cursorSeq += 1;
        const entry = window.at(window.cursorSeq);
        if (!entry || entry.state !== 'ready') break;
        window.cursorSeq += 1;
        owner.inFlight += 1;
        assign(entry, owner);
      }
    }
    this.first = (this.first + 1) % count;
  }

  release(_entry: Entry): void {}

  rebuild(): void {}

  /**
   * Which member owns which partition, given the current `owners`. Shares are even (each member
   * floor(P/N) partitions, one more for the first P % N: those owning the most now, then the
   * earliest joined). Sticky: a member keeps what it owns up to its share, so only the partitions
   * of members gone or closing and a member's surplus move, lowest first, to the members below
   * their share in join order. A join or a leave then takes back no more records than it must:
   * moving a partition between two members that both stay would make the holder's acks stale
   * and count a failed attempt for work that was going fine.
   */
  static assignment(members: readonly Member[], owners: readonly (Member | undefined)[]): (Member | undefined)[] {
    const staying = members.filter((m) => !m.left && !m.closing).sort((a, b) => a.joinSeq - b.joinSeq);
    // Members that lost a lease own nothing while another can take their partitions.
    const trusted = staying.filter((m) => !m.leaseLost);
    const active = trusted.length > 0 ? trusted : staying;
    if (active.length === 0) return owners.map(() => undefined);
    const owned = new Map<Member, number>(active.map((m) => [m, 0]));
    for (const owner of owners) if (owner && owned.has(owner)) owned.set(owner, owned.get(owner)! + 1);
    const byOwned = [...active].sort((a, b) => owned.get(b)! - owned.get(a)! || a.joinSeq - b.joinSeq);
    const base = Math.floor(owners.length / active.length);
    const share = new Map(byOwned.map((m, i) => [m, base + (i < owners.length % active.length ? 1 : 0)]));
    const given = new Map<Member, number>(active.map((m) => [m, 0]));
    const give = (member: Member): Member => {
      given.set(member, given.get(member)! + 1);
      return member;
    };
    const next = owners.map((owner) => (owner && owned.has(owner) && given.get(owner)! < share.get(owner)! ? give(owner) : undefined));
    let taker = 0;
    for (let p = 0; p < next.length; p++) {
      if (next[p] !== undefined) continue;
      while (given.get(active[taker]!)! >= share.get(active[taker]!)!) taker += 1;
      next[p] = give(active[taker]!);
    }
    return next;
  }

  /**
   * Moves each partition to the member `assignment` gives it, taking back (`revoke`) what its
   * old owner has in flight there. Returns whether any partition moved.
   */
  static reassign(members: readonly Member[], windows: readonly PartitionWindow[], revoke: (entry: Entry) => void): boolean {
    const owners = PartitionOrdering.assignment(members, windows.map((window) => window.owner));
    let changed = false;
    for (const window of windows) {
      const owner = owners[window.partition];
      if (owner === window.owner) continue;
      // A member closing gracefully keeps a partition until it has settled what it holds there:
      // taking those records back would redeliver work it is finishing, and make its acks stale.
      // It gets nothing new meanwhile (no credit); its leave() reassigns again and moves it.
      if (window.owner?.closing && !window.owner.left && hasInFlight(window)) continue;
      changed = true;
      for (const entry of window.entries()) if (entry.state === 'inflight') revoke(entry);
      window.owner = owner;
    }
    return changed;
  }
}

/** Acked (no longer held) or being dead-lettered: in 'partition' ordering, behind the cursor for good. */
function passed(entry: Entry | undefined): boolean {
  return entry === undefined || entry.state === 'deadLettering';
}

function hasInFlight(window: PartitionWindow): boolean {
  for (const entry of window.entries()) if (entry.state === 'inflight') return true;
  return false;
}

/** The strategy a group's `ordering` setting names. */
export function orderingFor(config: GroupConfig, windows: readonly PartitionWindow[]): OrderingStrategy {
  if (config.ordering === 'key') return new KeyOrdering(windows);
  return config.ordering === 'partition' ? new PartitionOrdering() : new NoneOrdering(windows);
}
