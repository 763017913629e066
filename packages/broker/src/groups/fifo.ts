/**
 * First in, first out, with a head index. Array#shift moves the array's elements on each call, so
 * taking n items one by one costs O(n^2): it was the most expensive line of 'key' ordering
 * (7 % of a backlog run at 64 keys), and 92 % of a tail reader's time, which took one record at a
 * time from a read of thousands (35k records/s).
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head++]!;
    if (this.head === this.items.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.items.length) {
      // Taken items stay referenced until here: at most as many as are still waiting.
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  peek(): T | undefined {
    return this.head === this.items.length ? undefined : this.items[this.head];
  }

  last(): T | undefined {
    return this.head === this.items.length ? undefined : this.items[this.items.length - 1];
  }

  /** Takes items off the front while `drop` says so. */
  dropWhile(drop: (item: T) => boolean): void {
    for (let item = this.peek(); item !== undefined && drop(item); item = this.peek()) this.shift();
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
