/**
 * How many handlers of one subscription hold a place at once: at most `limit` (the member's
 * maxInFlight), the rest waiting in arrival order. A handler holds its place until it finishes or
 * its delivery is settled, whichever comes first: one that acks and carries on in the background
 * has said it is done with the record. The broker's credit alone does not bound them: a handler
 * that runs past its lease has given its credit back while it still runs, unsettled (the record
 * comes again, and another handler would start), and after a reconnect a client's resubscribed
 * member gets a whole window while the lost connection's handlers still run.
 *
 * At most `limit` wait as well: past that the oldest waiting is dropped (the caller releases it,
 * Message.releaseUnread: taken back already, that does nothing; still live, the record comes
 * again now, perhaps to a member with room, and no attempt is counted: no handler saw it). Without that bound, handlers stuck past their leases would let
 * the broker send the same records again and again into the wait, as into an unread queue.
 *
 * A place freed by a settlement is noticed at the next delivery or the next handler to finish,
 * not at the settlement itself, and goes to the oldest item waiting (a delivery arriving then
 * waits behind it); a wait that nothing else ends is ended by the waiting delivery's
 * lease (the broker sends the record again, which is a delivery).
 *
 * The in-process broker does not hold handlers back: its window counts the member's current,
 * unsettled deliveries only, so a handler still running on a delivery taken back from it (its lease
 * ran out) does not count, as NATS counts max_ack_pending. The client counts every handler still
 * running, because it must not double its handlers at a reconnect, where the new member's window
 * knows nothing of the lost connection's handlers.
 */
export class HandlerWindow<T extends { readonly settled: boolean }> {
  private holding = 0;
  /** The items whose handlers are still running (a synchronous handler's never gets here). */
  private readonly running = new Set<T>();
  private waiting: T[] = [];
  /** Set while startWaiting() runs: a synchronous handler finishing inside it must not recurse. */
  private starting = false;
  /** The item whose handler is being called, and whether it finished before the call returned. */
  private calling: T | undefined;
  private finishedInCall = false;
  /** settlements() when hasRoom last looked over the running handlers: until it moves, none more is settled. */
  private lookedAt = -1;
  /** While true, items wait and no handler starts (see hold()). */
  private held = false;
  /** Called once a place is free (whenRoom): undefined but after a TAKEN_BACK, while every place is held. */
  private onRoom: (() => void) | undefined;

  /**
   * `run` starts the handler for an item and calls `finished(item)` once it is done (before it
   * returns, for a synchronous one); `drop` settles an item the window gives up on;
   * `settlements` counts the settlements made so far, and moves after each one sets `settled`.
   */
  constructor(
    private limit: number,
    private readonly run: (item: T, finished: (item: T) => void) => void,
    private readonly drop: (item: T) => void,
    private readonly settlements: () => number,
  ) {}

  /** No handler starts until open(): what arrives meanwhile waits (bounded as ever). */
  hold(): void {
    this.held = true;
  }

  open(): void {
    this.held = false;
    this.startWaiting();
  }

  /** The member's credit as the broker granted it. */
  setLimit(limit: number): void {
    this.limit = limit;
  }

  offer(item: T): void {
    // Behind what already waits: a place a settlement freed (noticed only now) goes to the oldest
    // waiting item, else a newcomer would overtake it (in 'partition' order, a later offset first).
    this.waiting.push(item);
    this.startWaiting();
    if (this.waiting.length > this.limit) this.drop(this.waiting.shift()!);
  }

  /**
   * Calls `ready` once a handler could start the next message: now if a place is free and nothing
   * waits for it, else when a handler finishes and leaves one so. Not while every place is held:
   * handlers that hang keep it from being called. (While something waits, its handler's
   * settlement will say the consumer runs.)
   */
  whenRoom(ready: () => void): void {
    this.onRoom = ready;
    this.callIfRoom();
  }

  /** The item that has waited longest. */
  oldestWaiting(): T | undefined {
    return this.waiting[0];
  }

  /** Takes the waiting items `pick` picks, or all of them (a lost connection's, or a member's that ended). */
  takeWaiting(pick?: (item: T) => boolean): T[] {
    const waiting = this.waiting;
    if (pick === undefined || waiting.length === 0) {
      this.waiting = [];
      return waiting;
    }
    const taken: T[] = [];
    this.waiting = waiting.filter((item) => !(pick(item) && taken.push(item)));
    return taken;
  }

  /**
   * True if a handler may start; frees the places of running handlers whose deliveries were
   * settled. They are looked over only if a settlement was made since the last time: a full
   * window of handlers that never settle would cost a pass over all of them per delivery.
   */
  private hasRoom(): boolean {
    if (this.holding < this.limit) return true;
    const settlements = this.settlements();
    if (settlements === this.lookedAt) return false;
    this.lookedAt = settlements;
    for (const item of this.running) {
      if (item.settled) {
        this.running.delete(item);
        this.holding -= 1;
      }
    }
    return this.holding < this.limit;
  }

  /** Only from startWaiting(), which never runs inside itself: no other item's call is under way. */
  private start(item: T): void {
    this.holding += 1;
    this.calling = item;
    this.finishedInCall = false;
    this.run(item, this.finished);
    this.calling = undefined;
    if (!this.finishedInCall) this.running.add(item);
  }

  private readonly finished = (item: T): void => {
    if (item === this.calling) {
      this.finishedInCall = true;
      this.holding -= 1;
    } else if (this.running.delete(item)) {
      this.holding -= 1;
    }
    this.startWaiting();
    this.callIfRoom();
  };

  private callIfRoom(): void {
    const ready = this.onRoom;
    if (ready === undefined || this.waiting.length > 0 || !this.hasRoom()) return;
    this.onRoom = undefined;
    ready();
  }

  /** Starts waiting items, oldest first, while there is room; not again from inside (a synchronous handler finishing). */
  private startWaiting(): void {
    if (this.starting || this.held) return;
    this.starting = true;
    // A throw out of a handler's finishing (a whenRoom callback) must not leave the window stopped.
    try {
      while (this.waiting.length > 0 && this.hasRoom()) this.start(this.waiting.shift()!);
    } finally {
      this.starting = false;
    }
  }
}
