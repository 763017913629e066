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
  let result: unknown;
  try {
    result = handler(message);
  } catch {
    void message.nack();
    return;
  }
  if (isThenable(result)) result.then(() => void message.ack(), () => void message.nack());
  else void message.ack();
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
