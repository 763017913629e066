/**
 * The queue between a subscription and a `for await` loop (AsyncQueue): it never holds more than
 * the subscription's maxInFlight messages, since the broker sends no more than that unsettled.
 */
import { AsyncQueue, type BrookError } from '@brook/protocol';
import type { Message } from './message.js';
import type { MessageSink } from './subscription.js';

export class MessageQueue extends AsyncQueue<Message> implements MessageSink {
  deliver(message: Message): boolean {
    return this.push(message);
  }

  takeUnseen(): Message[] {
    return this.takeAll();
  }

  /** Nobody will read on: the loop ends now, later messages are refused. */
  closing(): void {
    this.end();
  }

  ended(failure: BrookError | undefined): void {
    this.end(failure);
  }
}
