/**
 * The retry of a pump step (a group's or a tail reader's) that failed on a retriable error, such
 * as a log read's IO_ERROR. A pump otherwise runs again only at its next event (a produce, an
 * ack, a join): a backlog nobody produces to, with nothing in flight, has no next event, so a
 * passing read failure would stall it for good. The retry waits a backoff step, one step longer
 * for each failure in a row, with its jitter, and is armed once however many steps fail before it
 * is due.
 */
import type { Clock, Random } from '@brook/protocol';
import type { Deadline, DeadlineQueue } from './deadline-queue.js';
import { backoffDelayMs, type BackoffOptions } from './subscribe-options.js';

export interface StepRetryDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly deadlines: DeadlineQueue;
}

export class StepRetry {
  /** Steps that failed in a row: each retry waits one backoff step longer. */
  private failuresInRow = 0;
  private due: Deadline | undefined;

  constructor(
    private readonly deps: StepRetryDeps,
    /** Read at each failure: a group's backoff is its config's, which a reconfigure may change. */
    private readonly backoff: () => Required<BackoffOptions>,
    private readonly runStep: () => void,
  ) {}

  /** A step failed on a retriable error: the step runs again after the backoff. */
  failed(): void {
    this.failuresInRow += 1;
    if (this.due) return;
    const delayMs = backoffDelayMs(this.backoff(), this.failuresInRow, this.deps.random);
    this.due = this.deps.deadlines.schedule(this.deps.clock.monotonicMs() + delayMs, () => {
      this.due = undefined;
      this.runStep();
    });
  }

  /** A step got through: the next failure starts the backoff over. */
  succeeded(): void {
    this.failuresInRow = 0;
  }

  /** The pump's owner closed: no retry fires any more. */
  cancel(): void {
    this.due?.cancel();
    this.due = undefined;
  }
}
