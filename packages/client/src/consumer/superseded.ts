/**
 * Which messages of a subscription something later made stale before its consumer saw them. A
 * record comes again only once the broker took its earlier delivery back, and in 'partition'
 * ordering a partition's records go out in offset order until a go-back (a nack, a release, a
 * lease run out) or a rebalance takes back everything after the record it restarts from. So:
 *
 * - A message still waiting is stale once its record arrives again, or ('partition') an earlier
 *   record of its partition does: read, it would come before the records it follows.
 * - ('partition') A nack or release of this client's goes back too: what waits after it in its
 *   partition is stale at once, and so is what arrives after it in its partition until the broker
 *   has taken the go-back in. The broker sent those before it read the settle, and took them back
 *   when it did (TAKEN_BACK names them, but a handler place may free before that frame comes: a
 *   handler would start on a later offset ahead of the one going back). The go-back is taken in
 *   once its settle's answer is read (a turn after its frame: what arrives in the same turn is
 *   released once more, and comes again), or once its partition's redelivery arrives (at or
 *   before the offset that went back; it may come before the answer).
 *
 * Stale messages are released, not dropped: a release of one the broker took back does nothing,
 * and one it had not (a nack that dead-lettered its record instead of going back) comes again at
 * once with no attempt counted. That release is a go-back of its own, held like any other: what
 * arrives after it is stale until its record arrives again. Each go-back is held apart, ended by
 * its own answer or redelivery: one go-back's hold must not outlast its answer because a later
 * one is pending (a record released on arrival, come again before that answer, would be
 * released again, and again).
 */
import type { Message } from './message.js';
import type { MessageSink } from './message-sink.js';

/** A go-back the broker may not have taken in yet: what arrives in its partition past `offset` is stale. */
interface GoBackUnanswered {
  readonly offset: bigint;
}

export class SupersededMessages {
  /** Per partition, the highest offset delivered on this session. */
  private readonly highestOffsets = new Map<number, bigint>();
  /** Per partition, the go-backs not taken in yet (a few at most: each ends at its answer). */
  private readonly goBacks = new Map<number, GoBackUnanswered[]>();
  private goesBack = false;

  constructor(private readonly sink: MessageSink) {}

  /** A new session: nothing of the last one's counts, and `ordering` is what the member reads in. */
  setSession(ordering: string | undefined): void {
    this.goesBack = ordering === 'partition';
    this.highestOffsets.clear();
    this.goBacks.clear();
  }

  /**
   * `message` arrived: releases what waits that it makes stale. False if it is stale itself (sent
   * before the broker took in a go-back from an earlier offset of its partition): released here,
   * it is not to be handed on.
   */
  arrived(message: Message): boolean {
    if (this.goBacks.size > 0 && this.goneBack(message)) {
      message.releaseUnread();
      return false;
    }
    const highest = this.highestOffsets.get(message.partition);
    // Only an arrival at or below the highest offset seen can make anything stale: the others cost no search.
    if (highest === undefined || message.offset > highest) {
      this.highestOffsets.set(message.partition, message.offset);
      return true;
    }
    const stale = (queued: Message): boolean =>
      queued.partition === message.partition && (queued.offset === message.offset || (this.goesBack && queued.offset > message.offset));
    for (const queued of this.sink.takeUnseen(stale)) queued.releaseUnread();
    return true;
  }

  /**
   * ('partition') A nack or release of `message` is on its way in the settle `answered` settles:
   * what waits after it in its partition is released now (the nack goes first in that settle,
   * so a release it made stale does nothing), and what arrives after it until then is stale.
   */
  wentBack(message: Message, answered: Promise<unknown>): void {
    if (!this.goesBack) return;
    const { partition, offset } = message;
    const goBack: GoBackUnanswered = { offset };
    const pending = this.goBacks.get(partition);
    if (pending === undefined) this.goBacks.set(partition, [goBack]);
    else pending.push(goBack);
    const answer = (): void => this.end(partition, (each) => each === goBack);
    answered.then(answer, answer);
    const later = (queued: Message): boolean => queued.partition === partition && queued.offset > offset;
    for (const stale of this.sink.takeUnseen(later)) stale.releaseUnread();
  }

  /**
   * Whether `message` comes after a go-back of its partition not taken in yet. An arrival at or
   * before a go-back's offset is that go-back's redelivery (or later still): it ends it.
   */
  private goneBack(message: Message): boolean {
    const pending = this.goBacks.get(message.partition);
    if (pending === undefined) return false;
    this.end(message.partition, (goBack) => message.offset <= goBack.offset);
    return pending.some((goBack) => message.offset > goBack.offset);
  }

  private end(partition: number, ended: (goBack: GoBackUnanswered) => boolean): void {
    const pending = this.goBacks.get(partition);
    if (pending === undefined) return;
    for (let i = pending.length - 1; i >= 0; i--) if (ended(pending[i]!)) pending.splice(i, 1);
    if (pending.length === 0) this.goBacks.delete(partition);
  }
}
