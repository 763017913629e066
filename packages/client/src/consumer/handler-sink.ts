/**
 * The handler form of a subscription: each message runs the handler; returning (or resolving)
 * acks unless the handler settled the message itself, throwing (or rejecting) nacks with the
 * group's backoff and what it threw as the reason (failureReason), exactly like the in-process broker's handlerSink. A synchronous handler costs
 * no promise: its ack joins the tick's settle batch. At most maxInFlight handlers hold a place at
 * once (until they finish or settle their message), and at most that many messages wait for one
 * (HandlerWindow has the rule and why).
 */
import { failureReason } from '@brook/protocol';
import { HandlerWindow } from './handler-window.js';
import { settlementCount, type Message } from './message.js';
import type { Handler, MessageSink } from './message-sink.js';

/** A handler sink made `held` runs no handler until open(): what arrives meanwhile waits. */
export interface HandlerSink extends MessageSink {
  open(): void;
}

export function handlerSink(handler: Handler, maxInFlight: number, { held = false } = {}): HandlerSink {
  const window = new HandlerWindow<Message>(maxInFlight, (message, finished) => run(handler, message, finished), (message) => message.releaseUnread(), settlementCount);
  if (held) window.hold();
  return {
    open: () => window.open(),
    credit: (granted) => window.setLimit(granted),
    deliver(message) {
      window.offer(message);
      return true;
    },
    // What waits is a lost connection's (the broker redelivers it) or a closing member's (released).
    takeUnseen: (pick) => window.takeWaiting(pick),
    oldestUnseen: () => window.oldestWaiting(),
    whenReady: (ready) => window.whenRoom(ready),
    // A handler keeps running while a graceful close waits for what it holds.
    closing: () => undefined,
    ended: () => void window.takeWaiting(),
  };
}

function run(handler: Handler, message: Message, finished: (message: Message) => void): void {
  let result: unknown;
  try {
    result = handler(message);
  } catch (error) {
    nackUnlessSettled(message, error);
    finished(message);
    return;
  }
  // finished() outside the try: a throw from the window's own work is no handler failure (a nack,
  // and a second finished() giving its place back twice).
  if (!isThenable(result)) {
    void message.ack();
    finished(message);
    return;
  }
  // Not result.then(): a thenable's own then() may throw, and here that would unwind into the
  // transport's frame handler; Promise.resolve calls it later and turns a throw into a nack.
  Promise.resolve(result).then(
    () => {
      void message.ack();
      finished(message);
    },
    (error: unknown) => {
      nackUnlessSettled(message, error);
      finished(message);
    },
  );
}

/** A settled message's nack would do nothing: what it threw is not even turned into text. */
function nackUnlessSettled(message: Message, error: unknown): void {
  if (!message.settled) void message.nack({ reason: failureReason(error) });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
