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
 * and one it had not (a go-back that found the record dead-lettered instead) comes again at
 * once with no attempt counted. Such a release is no go-back of the consumer's, so it holds
 * nothing back: if it were, a record released on arrival would come again before the answer,
 * be released again, and so on for as long as releases kept the go-back unanswered.
 */
import type { Message } from './message.js';
import type { MessageSink } from './message-sink.js';

/** A go-back the broker has not taken in yet: from `offset` on, what arrives in its partition is stale. */
interface GoBackUnanswered {
  offset: bigint;
  /** Settles not answered yet that carry a go-back of the partition. */
  settles: number;
}

export class SupersededMessages {
  /** Per partition, the highest offset delivered on this session. */
  private readonly highestOffsets = new Map<number, bigint>();
  private readonly goBacks = new Map<number, GoBackUnanswered>();
  private goesBack = false;
  /** True while this releases stale messages itself: their releases are not the consumer's go-backs. */
  private releasing = false;

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
      this.release([message]);
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
    this.release(this.sink.takeUnseen(stale));
    return true;
  }

  /**
   * ('partition') A nack or release of `message` is on its way in the settle `answered` settles:
   * what waits after it in its partition is released now (the nack goes first in that settle,
   * so a release it made stale does nothing), and what arrives after it until then is stale.
   */
  wentBack(message: Message, answered: Promise<unknown>): void {
    if (!this.goesBack || this.releasing) return;
    const { partition, offset } = message;
    let goBack = this.goBacks.get(partition);
    if (goBack === undefined) this.goBacks.set(partition, (goBack = { offset, settles: 0 }));
    else if (offset < goBack.offset) goBack.offset = offset;
    goBack.settles += 1;
    const unanswered = goBack;
    const answer = (): void => {
      if (this.goBacks.get(partition) === unanswered && --unanswered.settles === 0) this.goBacks.delete(partition);
    };
    answered.then(answer, answer);
    const later = (queued: Message): boolean => queued.partition === partition && queued.offset > offset;
    this.release(this.sink.takeUnseen(later));
  }

  private release(stale: readonly Message[]): void {
    this.releasing = true;
    try {
      for (const message of stale) message.releaseUnread();
    } finally {
      this.releasing = false;
    }
  }

  /** Whether `message` comes after a go-back of its partition not taken in yet; its redelivery's arrival ends that go-back. */
  private goneBack(message: Message): boolean {
    const goBack = this.goBacks.get(message.partition);
    if (goBack === undefined) return false;
    if (message.offset > goBack.offset) return true;
    this.goBacks.delete(message.partition);
    return false;
  }
}
