/**
 * The queue between a subscription and a `for await` loop. It never holds more than the
 * subscription's maxInFlight messages: the broker sends no more than that unsettled.
 */
import type { BrookError } from '@brook/protocol';
import type { Message } from './message.js';
import type { MessageSink } from './subscription.js';

export class MessageQueue implements MessageSink {
  private items: Message[] = [];
  private head = 0;
  /** next() calls waiting for a message, oldest first: each gets its own (an iterator may be read without awaiting each next()). */
  private waiters: { resolve(result: IteratorResult<Message>): void; reject(error: unknown): void }[] = [];
  private finished = false;
  private failure: BrookError | undefined;

  get size(): number {
    return this.items.length - this.head;
  }

  deliver(message: Message): boolean {
    if (this.finished) return false;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve({ value: message, done: false });
    } else {
      this.items.push(message);
    }
    return true;
  }

  next(): Promise<IteratorResult<Message>> {
    if (this.head < this.items.length) {
      const message = this.items[this.head++]!;
      if (this.head === this.items.length) this.clear();
      return Promise.resolve({ value: message, done: false });
    }
    if (this.finished) return this.failure === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.failure);
    return new Promise((resolve, reject) => void this.waiters.push({ resolve, reject }));
  }

  /** Takes every message not yet handed out (e.g. to release them on close). */
  takeUnseen(): Message[] {
    const unseen = this.items.slice(this.head);
    this.clear();
    return unseen;
  }

  /** Nobody will read on: the loop ends now, later messages are refused. */
  closing(): void {
    this.ended(undefined);
  }

  /** Ends the iteration: done, or a rejected next() carrying `failure`. Queued messages are dropped. */
  ended(failure: BrookError | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = failure;
    this.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      if (failure === undefined) waiter.resolve({ value: undefined, done: true });
      else waiter.reject(failure);
    }
  }

  private clear(): void {
    this.items = [];
    this.head = 0;
  }
}
