/**
 * The handler form of a subscription: each message runs the handler; returning (or resolving)
 * acks unless the handler settled the message itself, throwing (or rejecting) nacks with the
 * group's backoff, exactly like the in-process broker's handlerSink. A synchronous handler costs
 * no promise: its ack joins the tick's settle batch.
 */
import type { Message } from './message.js';
import type { Handler, MessageSink } from './subscription.js';

export function handlerSink(handler: Handler): MessageSink {
  return {
    // Each message runs at once: nothing waits here.
    credit: () => undefined,
    deliver(message) {
      run(handler, message);
      return true;
    },
    takeUnseen: () => [],
    // A handler keeps running while a graceful close waits for what it holds.
    closing: () => undefined,
    ended: () => undefined,
  };
}

function run(handler: Handler, message: Message): void {
  try {
    const result = handler(message);
    if (!isThenable(result)) {
      void message.ack();
      return;
    }
    // Not result.then(): a thenable's own then() may throw, and here that would unwind into the
    // transport's frame handler; Promise.resolve calls it later and turns a throw into a nack.
    Promise.resolve(result).then(() => void message.ack(), () => void message.nack());
  } catch {
    void message.nack();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
