/**
 * A binary min-heap of timers ordered by (dueMs, seq): earliest first, and among timers due at the
 * same instant, the one scheduled first. The sequence number makes the order total, so a run is
 * the same every time. Each entry knows its slot, so cancelling removes it in O(log n) instead of
 * leaving a tombstone that would make `size` lie and the heap grow.
 */
export interface HeapTimer {
  readonly dueMs: number;
  readonly seq: number;
  readonly callback: () => void;
  /** Position in the heap array; -1 once removed. */
  index: number;
}

function before(a: HeapTimer, b: HeapTimer): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
}

export class TimerHeap {
  private readonly items: HeapTimer[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): HeapTimer | undefined {
    return this.items[0];
  }

  push(timer: HeapTimer): void {
    timer.index = this.items.length;
    this.items.push(timer);
    this.siftUp(timer.index);
  }

  pop(): HeapTimer | undefined {
    const top = this.items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `timer` if it is still in the heap; a no-op otherwise. */
  remove(timer: HeapTimer): void {
    const index = timer.index;
    if (index < 0 || this.items[index] !== timer) return;
    timer.index = -1;
    const last = this.items.pop()!;
    if (last === timer) return;
    this.place(last, index);
    this.siftUp(index);
    this.siftDown(last.index);
  }

  private siftUp(start: number): void {
    let index = start;
    const item = this.items[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = this.items[parentIndex]!;
      if (!before(item, parent)) break;
      this.place(parent, index);
      index = parentIndex;
    }
    this.place(item, index);
  }

  private siftDown(start: number): void {
    let index = start;
    const item = this.items[index]!;
    for (;;) {
      const leftIndex = 2 * index + 1;
      if (leftIndex >= this.items.length) break;
      const rightIndex = leftIndex + 1;
      const right = this.items[rightIndex];
      const childIndex = right !== undefined && before(right, this.items[leftIndex]!) ? rightIndex : leftIndex;
      const child = this.items[childIndex]!;
      if (!before(child, item)) break;
      this.place(child, index);
      index = childIndex;
    }
    this.place(item, index);
  }

  private place(item: HeapTimer, index: number): void {
    this.items[index] = item;
    item.index = index;
  }
}
