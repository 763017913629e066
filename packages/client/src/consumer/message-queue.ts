/**
 * The queue between a subscription and a `for await` loop (AsyncQueue). The broker has at most
 * the member's maxInFlight unsettled deliveries at it, but a loop that stops reading lets their
 * leases run out, and the broker sends the records again: left alone, the queue would keep every
 * one of them. So it holds at most maxInFlight: with more queued, some were taken back already,
 * and leases run out oldest first, so the oldest go. Each is released (Message.releaseUnread): a
 * stale one's release does nothing, and one that was still live (a rebalance took a newer one
 * back instead) comes again now, with no attempt counted since the loop never saw it, rather than
 * when its lease runs out, and keeps no graceful close waiting.
 */
import { AsyncQueue, type BrookError } from '@brook/protocol';
import type { Message } from './message.js';
import type { MessageSink } from './message-sink.js';

export class MessageQueue extends AsyncQueue<Message> implements MessageSink {
  /** Unbounded until the broker names the member's credit (a broker from before it never does). */
  private maxInFlight = Infinity;
  /** Called at the loop's next next() (whenReady): set only once a TAKEN_BACK dropped what it held unread, until the loop asks again. */
  private onNext: (() => void) | undefined;

  credit(maxInFlight: number): void {
    this.maxInFlight = maxInFlight;
  }

  deliver(message: Message): boolean {
    if (!this.push(message)) return false;
    let excess = this.size - this.maxInFlight;
    if (excess > 0) for (const oldest of this.remove(() => excess-- > 0)) oldest.releaseUnread();
    return true;
  }

  takeUnseen(pick?: (message: Message) => boolean): Message[] {
    if (pick === undefined) return this.takeAll();
    return this.size === 0 ? [] : this.remove(pick);
  }

  oldestUnseen(): Message | undefined {
    return this.peek();
  }

  /** A loop that asks for the next message can take it: one waiting now, else the next call. */
  whenReady(ready: () => void): void {
    this.onNext = undefined;
    if (this.reading) ready();
    else this.onNext = ready;
  }

  override next(): Promise<IteratorResult<Message>> {
    if (this.onNext !== undefined) {
      const ready = this.onNext;
      this.onNext = undefined;
      ready();
    }
    return super.next();
  }

  /** Nobody will read on: the loop ends now, later messages are refused. */
  closing(): void {
    this.onNext = undefined;
    this.end();
  }

  ended(failure: BrookError | undefined): void {
    this.onNext = undefined;
    this.end(failure);
  }
}
