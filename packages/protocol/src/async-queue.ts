/**
 * The queue between whoever delivers (the broker's engine, a client subscription) and a
 * `for await` loop: items wait here until `next()` takes them, and `next()` calls made before an
 * item arrives wait here for one, oldest first, each for its own (an iterator may be read without
 * awaiting each call, so two calls can wait together). Bounded by its producer, not here: the
 * engine has at most maxInFlight unsettled deliveries at a member. But a loop that stops reading
 * lets their leases run out, and each lease back is credit the engine spends again, so the
 * queued items that were taken back pile up: the producer drops them with `remove`, or stops
 * taking more and lets next() skip them (`passed`).
 *
 * `end()` drops what is queued and finishes the iteration: quietly, or with a failure, which the
 * next `next()` (or every waiting one) rejects with once; after that it is done, as an iterator
 * that threw is.
 */
export class AsyncQueue<T> {
  private items: T[] = [];
  private head = 0;
  private waiters: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void }[] = [];
  private finished = false;
  private failure: unknown;

  /** Items queued and not yet taken. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** True while a next() waits for an item: the loop is reading, and the queue is empty. */
  get reading(): boolean {
    return this.waiters.length > 0;
  }

  /** Queues `item` (or hands it to the oldest waiting next()); false once the queue has ended. */
  push(item: T): boolean {
    if (this.finished) return false;
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve({ value: item, done: false });
    else this.items.push(item);
    return true;
  }

  next(): Promise<IteratorResult<T>> {
    while (this.head < this.items.length) {
      const item = this.items[this.head++]!;
      if (this.head === this.items.length) this.clear();
      if (this.passed(item)) continue;
      this.taken(item);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.finished) {
      const failure = this.failure;
      this.failure = undefined;
      return failure === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(failure);
    }
    return new Promise((resolve, reject) => void this.waiters.push({ resolve, reject }));
  }

  /** Whether a queued item is past use: next() drops it instead of handing it out. */
  protected passed(_item: T): boolean {
    return false;
  }

  /** A queued item is being handed out by next() (not one pushed straight to a waiting next()). */
  protected taken(_item: T): void {}

  /** The oldest item queued and not yet handed out. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  /** The items queued and not yet handed out, oldest first. */
  protected queued(): T[] {
    return this.items.slice(this.head);
  }

  /** Takes the items not yet handed out that `drop` picks (asked oldest first), keeping the rest in order. */
  remove(drop: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const kept: T[] = [];
    for (let index = this.head; index < this.items.length; index++) {
      const item = this.items[index]!;
      (drop(item) ? removed : kept).push(item);
    }
    this.items = kept;
    this.head = 0;
    return removed;
  }

  /** Takes every item not yet handed out (to give them back elsewhere). */
  takeAll(): T[] {
    const items = this.queued();
    this.clear();
    return items;
  }

  /** Ends the iteration, dropping what is queued: done, or `failure` for the next (or each waiting) next(). */
  end(failure?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.clear();
    const waiters = this.waiters;
    this.waiters = [];
    if (waiters.length === 0) this.failure = failure;
    for (const waiter of waiters) {
      if (failure === undefined) waiter.resolve({ value: undefined, done: true });
      else waiter.reject(failure);
    }
  }

  private clear(): void {
    this.items = [];
    this.head = 0;
  }
}
