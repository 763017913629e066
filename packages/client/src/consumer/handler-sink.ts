/**
 * The handler form of a subscription: each message runs the handler; returning (or resolving)
 * acks unless the handler settled the message itself, throwing (or rejecting) nacks with the
 * group's backoff, exactly like the in-process broker's handlerSink. A synchronous handler costs
 * no promise: its ack joins the tick's settle batch.
 *
 * At most `maxInFlight` handlers run at once. The broker's credit alone does not ensure that:
 * after a reconnect the resubscribed member gets a whole window while handlers of the lost
 * connection's messages still run, and a handler that settles its message itself and carries on
 * has already given its credit back. A message beyond the window waits here until a handler
 * finishes; the broker sends at most maxInFlight unsettled, so at most that many wait, and they
 * wait with their leases running, as deliveries held in the server do.
 */
import type { Message } from './message.js';
import type { Handler, MessageSink } from './subscription.js';

export function handlerSink(handler: Handler, maxInFlight: number): MessageSink {
  let running = 0;
  let waiting: Message[] = [];
  /** Set while finished() starts waiting messages: a synchronous handler finishing inside it must not recurse. */
  let starting = false;
  const finished = (): void => {
    running -= 1;
    if (starting) return;
    starting = true;
    while (running < maxInFlight && waiting.length > 0) start(waiting.shift()!);
    starting = false;
  };
  const start = (message: Message): void => {
    running += 1;
    run(handler, message, finished);
  };
  return {
    // Each message runs at once: nothing waits here.
    credit: () => undefined,
    deliver(message) {
      if (running < maxInFlight) start(message);
      else waiting.push(message);
      return true;
    },
    // What waits is a lost connection's (the broker redelivers it) or a closing member's (released).
    takeUnseen: () => waiting.splice(0),
    // A handler keeps running while a graceful close waits for what it holds.
    closing: () => undefined,
    ended: () => void (waiting = []),
  };
}

function run(handler: Handler, message: Message, finished: () => void): void {
  try {
    const result = handler(message);
    if (!isThenable(result)) {
      void message.ack();
      finished();
      return;
    }
    // Not result.then(): a thenable's own then() may throw, and here that would unwind into the
    // transport's frame handler; Promise.resolve calls it later and turns a throw into a nack.
    Promise.resolve(result).then(
      () => {
        void message.ack();
        finished();
      },
      () => {
        void message.nack();
        finished();
      },
    );
  } catch {
    void message.nack();
    finished();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
