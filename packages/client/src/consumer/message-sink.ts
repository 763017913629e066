/**
 * Where a subscription's messages go (Subscription): a handler (handler-sink.ts) or the queue of a
 * for-await loop (message-queue.ts).
 */
import type { BrookError } from '@brook/protocol';
import type { Message } from './message.js';

/** Handler form: resolve (or return) = ack, throw (or reject) = nack with the group's backoff. */
export type Handler = (message: Message) => unknown;

/** Where a subscription's messages go: a handler, or the queue of a for-await loop. */
export interface MessageSink {
  /** The member's maxInFlight, once the broker accepted it (again after each reconnect). */
  credit(maxInFlight: number): void;
  /** False if the consumer takes no more messages (a loop that stopped): the subscription releases it. */
  deliver(message: Message): boolean;
  /**
   * Messages received but not yet handed to the consumer (those `pick` picks, or all): dropped on
   * a lost connection or once TAKEN_BACK named them, released on close or once a later delivery
   * made them stale.
   */
  takeUnseen(pick?: (message: Message) => boolean): Message[];
  /** The message that has waited unseen longest, if any (UnseenLeases watches it). */
  oldestUnseen(): Message | undefined;
  /**
   * Calls `ready` once the consumer can take the next message: at once if it can now (a handler
   * place is free, a loop's next() waits), else when it first can (a handler finishes with a
   * place free, the loop calls next() again). One at a time: a later call replaces one still due.
   */
  whenReady(ready: () => void): void;
  /** close() began: a consumer that cannot finish in the background stops taking messages. */
  closing(): void;
  /** No more messages: the subscription is closed (error undefined) or ended by the broker or the connection. */
  ended(error: BrookError | undefined): void;
}
