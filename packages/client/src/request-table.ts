/**
 * A connection's outstanding requests: their ids, the ones waiting to be sent (for the
 * requestsInFlightMax window or a reconnect), the ones sent and unanswered, and the ones that
 * timed out but whose late answer still matters. The Connection decides when requests move;
 * this table keeps the counts that decision needs right.
 */
import type { BrookError, RequestOp, RequestResult, Timer } from '@brook/protocol';

export interface Response<Op extends RequestOp> {
  json: RequestResult<Op>;
  data: Uint8Array;
}

export interface RequestOptions<Op extends RequestOp> {
  data?: Uint8Array;
  /** Names session state (delivery ids, subscription numbers): never resent on a later session. */
  sessionBound?: boolean;
  /**
   * Called with the result as the RESPONSE frame is read, before any later frame: a subscribe
   * must route its DELIVER frames, which may follow in the same socket read, before the promise
   * continuation could run.
   */
  onResponse?: (json: RequestResult<Op>) => void;
  /**
   * Called with the result of a RESPONSE that comes after the request timed out (on the session
   * it was sent on): the server did what was asked although the caller was told TIMEOUT, so the
   * caller may have to undo it (a subscribe: the member exists).
   */
  onLateResponse?: (json: RequestResult<Op>) => void;
  /**
   * Withdraws the request if it is done while the request still waits to be sent (for the window
   * or a reconnect): it rejects with the withdrawal's reason and never goes out. Once sent, it
   * runs its course: the server may already have acted on it.
   */
  withdrawal?: Withdrawal;
  /**
   * Not failed with TIMEOUT after requestTimeoutMs: a graceful unsubscribe is answered once the
   * consumer's own handlers have settled what the member holds (or its leases ran out), however
   * long they take. A lost connection still fails it. (The subscription bounds its wait itself
   * once nothing is left to settle: consumer/leave-deadline.ts.)
   */
  untimed?: boolean;
}

/**
 * What withdraws a request still waiting to be sent: a producer batch, once written or failed.
 * Not an AbortSignal: an AbortController per batch (its EventTarget, the abort Event dispatched
 * to nobody) was a good part of what a paced producer allocated per send, and a request is
 * watched only in the rare case that it has to wait.
 */
export interface Withdrawal {
  readonly done: boolean;
  /** What the withdrawn request rejects with. */
  readonly withdrawnReason: unknown;
  /** Calls `withdraw` once, when it becomes done; returns what stops that. */
  whenDone(withdraw: () => void): () => void;
}

export interface Pending {
  readonly requestId: number;
  readonly op: RequestOp;
  readonly frame: Uint8Array;
  readonly sessionBound: boolean;
  readonly onResponse: ((json: RequestResult<RequestOp>) => void) | undefined;
  readonly onLateResponse: ((json: RequestResult<RequestOp>) => void) | undefined;
  readonly resolve: (response: Response<RequestOp>) => void;
  readonly reject: (error: BrookError) => void;
  timer: Timer | undefined;
  /** Stops watching the request's withdrawal. */
  unwatch: (() => void) | undefined;
  /** The session it was sent on; 0 while it waits to be sent. */
  sentOn: number;
}

const REQUEST_ID_MAX = 0xffffffff;

export class RequestTable {
  private nextRequestId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly waiting: Pending[] = [];
  /** Timed-out requests of this session whose late answer still matters (onLateResponse), by request id. */
  private readonly overdue = new Map<number, Pending>();
  /** Sent requests outside the window (graceful unsubscribes, see countsTowardWindow). */
  private exemptInFlight = 0;

  /** An id no outstanding or overdue request has, counting up and wrapping past 2^32 - 1 to 1. */
  takeRequestId(): number {
    do {
      const requestId = this.nextRequestId;
      this.nextRequestId = requestId === REQUEST_ID_MAX ? 1 : requestId + 1;
      if (!this.pending.has(requestId) && !this.overdue.has(requestId)) return requestId;
    } while (true);
  }

  /** True if a new `op` may go out now: nothing waits ahead of it (an abort must not overtake the settles before it) and the window has room. */
  mayGoNow(op: RequestOp, windowMax: number): boolean {
    return this.waiting.length === 0 && this.hasRoom(op, windowMax);
  }

  /** Registers a request; one that `waits` is queued to be sent by nextToSend. */
  add(pending: Pending, waits: boolean): void {
    this.pending.set(pending.requestId, pending);
    if (waits) this.waiting.push(pending);
  }

  /** The first waiting request if the window has room for it, taken off the queue. */
  nextToSend(windowMax: number): Pending | undefined {
    const next = this.waiting[0];
    return next !== undefined && this.hasRoom(next.op, windowMax) ? this.waiting.shift() : undefined;
  }

  /** `pending` goes out on `session`: it can no longer be withdrawn. */
  sent(pending: Pending, session: number): void {
    pending.unwatch?.();
    pending.unwatch = undefined;
    if (!countsTowardWindow(pending.op) && pending.sentOn === 0) this.exemptInFlight += 1;
    pending.sentOn = session;
  }

  get(requestId: number): Pending | undefined {
    return this.pending.get(requestId);
  }

  /** Every outstanding request, sent or waiting. */
  all(): Pending[] {
    return [...this.pending.values()];
  }

  /** Forgets a request that is answered, failed, withdrawn or timed out. */
  forget(pending: Pending): void {
    pending.timer?.cancel();
    pending.unwatch?.();
    this.pending.delete(pending.requestId);
    if (!countsTowardWindow(pending.op) && pending.sentOn !== 0) this.exemptInFlight -= 1;
    const at = pending.sentOn === 0 ? this.waiting.indexOf(pending) : -1;
    if (at >= 0) this.waiting.splice(at, 1);
  }

  /** Keeps a timed-out request's id taken until its late answer comes or the session ends. */
  keepOverdue(pending: Pending): void {
    this.overdue.set(pending.requestId, pending);
  }

  takeOverdue(requestId: number): Pending | undefined {
    const overdue = this.overdue.get(requestId);
    if (overdue) this.overdue.delete(requestId);
    return overdue;
  }

  /** The session ended: what a late answer would have undone ended with it. */
  clearOverdue(): void {
    this.overdue.clear();
  }

  /** As many requests are sent and unanswered as the server takes at once: it reads no more until one is answered. */
  windowFull(windowMax: number): boolean {
    return this.inFlight() >= windowMax;
  }

  private hasRoom(op: RequestOp, windowMax: number): boolean {
    return !countsTowardWindow(op) || this.inFlight() < windowMax;
  }

  private inFlight(): number {
    return this.pending.size - this.waiting.length - this.exemptInFlight;
  }
}

/**
 * A graceful unsubscribe stays pending until the client's own settles arrive; counted in the
 * window, enough of them would keep those settles from being sent. The server does not count
 * them either (docs/protocol.md); subscriptionsMax bounds them.
 */
function countsTowardWindow(op: string): boolean {
  return op !== 'unsubscribe';
}
