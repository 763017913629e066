/**
 * How long a graceful close waits for the answer to its unsubscribe. The server answers once what
 * the member holds is settled (or its leases ran out), so while its consumer still holds a message
 * of the session the wait is untimed: a handler may work past requestTimeoutMs within its lease,
 * and the ack it makes must still go out. Once the consumer holds none, nothing waits to be sent
 * and every settle request is answered, the server has nothing left to wait for: an answer not
 * there requestTimeoutMs later is a broken server's, and the close goes on without it. A message
 * arriving meanwhile (sent before the server read the unsubscribe) starts the wait over.
 */
import type { Clock, Timer } from '@brook/protocol';

export class LeaveDeadline {
  private settlesUnanswered = 0;
  private timer: Timer | undefined;
  /** Set while a graceful close waits for its answer: ends the wait, true if the answer is overdue. */
  private done: ((overdue: boolean) => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: () => number,
    /** True while the consumer holds a message of the session unsettled, or settlements wait to be sent (SettleBatcher.holding). */
    private readonly holding: () => boolean,
  ) {}

  /** `request`, a settle of this subscription: the deadline waits for its answer. */
  settle<T>(request: Promise<T>): Promise<T> {
    this.settlesUnanswered += 1;
    this.check();
    return request.finally(() => {
      this.settlesUnanswered -= 1;
      this.check();
    });
  }

  /** Starts or stops the clock: a message arrived or was dropped unseen, a settle went or was answered. */
  check(): void {
    if (this.done === undefined) return;
    if (this.holding() || this.settlesUnanswered > 0) {
      this.timer?.cancel();
      this.timer = undefined;
    } else {
      this.timer ??= this.clock.setTimer(this.timeoutMs(), () => this.done?.(true));
    }
  }

  /**
   * Waits for `answer`: resolves true once it is overdue, false once it came or the subscription
   * ended another way (stop: an abort overtook the close); rejects if `answer` fails first.
   */
  async overdue(answer: Promise<unknown>): Promise<boolean> {
    const ended = new Promise<boolean>((resolve) => (this.done = resolve));
    this.check();
    try {
      return await Promise.race([answer.then(() => false), ended]);
    } finally {
      this.stop();
    }
  }

  /** Ends the wait, if any: the answer is no longer awaited. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const done = this.done;
    this.done = undefined;
    done?.(false);
  }
}
