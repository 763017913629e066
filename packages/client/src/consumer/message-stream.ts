/**
 * consume(): a subscription read with `for await`. Breaking out of the loop (or `return()`)
 * leaves the group at once, like abort(): settlements already made are sent first, and whatever
 * the loop held unsettled is redelivered. close() is the graceful way out (see Subscription).
 */
import type { BrookError } from '@brook/protocol';
import type { Connection } from '../connection.js';
import type { Message } from './message.js';
import { MessageQueue } from './message-queue.js';
import type { SubscribeOptions } from './subscribe-options.js';
import { Subscription } from './subscription.js';

export class MessageStream implements AsyncIterable<Message>, AsyncDisposable {
  /**
   * Resolves once the broker accepted the subscription; rejects (and ends the loop) if it refused.
   * Rejects with `options.signal`'s reason if that aborted before the broker accepted it, as
   * subscribe() does; the loop then just ends.
   */
  readonly ready: Promise<void>;
  private readonly queue = new MessageQueue();
  private readonly subscription: Subscription;

  /** `refusal`: the loop ends with it at once, nothing sent (the client is closing). */
  constructor(connection: Connection, options: SubscribeOptions, registry: Set<Subscription>, refusal?: BrookError) {
    this.subscription = new Subscription(connection, options, this.queue, registry);
    this.ready = this.subscription.start(refusal);
    // Marked handled: the loop sees a refusal through next() (the subscription ended the queue
    // with it before `ready` rejected), and `ready` is there for those who want it earlier. An
    // abort has ended the queue quietly, so its reason reaches `ready` only.
    this.ready.catch(() => undefined);
  }

  get topic(): string {
    return this.subscription.topic;
  }

  get group(): string | undefined {
    return this.subscription.group;
  }

  get memberId(): string | undefined {
    return this.subscription.memberId;
  }

  /** As Subscription.lostToRetention. */
  get lostToRetention(): bigint | undefined {
    return this.subscription.lostToRetention;
  }

  /** As Subscription.ended: resolves when the loop was ended by its consumer, rejects with why otherwise. */
  get ended(): Promise<void> {
    return this.subscription.ended;
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return {
      next: () => this.queue.next(),
      return: async () => {
        this.abort();
        return { value: undefined, done: true };
      },
    };
  }

  /** Graceful: the loop ends; the server waits for messages it already handed out to be settled. */
  close(): Promise<void> {
    return this.subscription.close();
  }

  abort(): void {
    this.subscription.abort();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
