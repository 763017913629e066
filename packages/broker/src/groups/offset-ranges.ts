/**
 * A set of offsets stored as sorted, disjoint, non-adjacent half-open ranges [start, end).
 *
 * Acks mostly arrive in order, so the acked offsets above a group's ackFloor are a few long runs
 * with gaps where records are still in flight. Storing runs instead of single offsets bounds the
 * memory by the number of gaps (at most the number of unacked records below the highest ack),
 * not by the number of acks, which matters when one stuck record sits below millions of acks.
 */
import { assert } from '@brook/protocol';
import { lastIndexWhere } from '../log/bisect.js';

export class OffsetRanges {
  /** starts[i] < ends[i] < starts[i + 1]: adjacent ranges are always merged. */
  private starts: bigint[] = [];
  private ends: bigint[] = [];

  /** The number of offsets in the set. */
  get size(): bigint {
    let total = 0n;
    for (let i = 0; i < this.starts.length; i++) total += this.ends[i]! - this.starts[i]!;
    return total;
  }

  /** How many offsets of the set are below `offset`. */
  countBelow(offset: bigint): bigint {
    let total = 0n;
    for (let i = 0; i < this.starts.length && this.starts[i]! < offset; i++) {
      total += (this.ends[i]! < offset ? this.ends[i]! : offset) - this.starts[i]!;
    }
    return total;
  }

  has(offset: bigint): boolean {
    const last = this.ends.length - 1;
    // Past the end: the usual question about a record just read.
    if (last < 0 || offset >= this.ends[last]!) return false;
    const i = this.lastStartAtOrBefore(offset);
    return i >= 0 && offset < this.ends[i]!;
  }

  /** `offset` if it is not in the set, else the end of the range holding it: the first offset from it not in the set. */
  firstAbsentFrom(offset: bigint): bigint {
    const last = this.ends.length - 1;
    if (last < 0 || offset >= this.ends[last]!) return offset;
    const i = this.lastStartAtOrBefore(offset);
    return i >= 0 && offset < this.ends[i]! ? this.ends[i]! : offset;
  }

  /** Adds `offset` (`nextOffset` is offset + 1, if the caller has it); returns false if it was already present. */
  add(offset: bigint, nextOffset = offset + 1n): boolean {
    const last = this.ends.length - 1;
    // At or past the end, the usual case (offsets mostly come in order): no search, no splice.
    if (last < 0 || offset > this.ends[last]!) {
      this.starts.push(offset);
      this.ends.push(nextOffset);
      return true;
    }
    if (offset === this.ends[last]) {
      this.ends[last] = nextOffset;
      return true;
    }
    const i = this.lastStartAtOrBefore(offset);
    if (i >= 0 && offset < this.ends[i]!) return false;
    const joinsLeft = i >= 0 && this.ends[i] === offset;
    const joinsRight = i + 1 < this.starts.length && this.starts[i + 1] === nextOffset;
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[i + 1]!;
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    } else if (joinsLeft) {
      this.ends[i] = nextOffset;
    } else if (joinsRight) {
      this.starts[i + 1] = offset;
    } else {
      this.starts.splice(i + 1, 0, offset);
      this.ends.splice(i + 1, 0, nextOffset);
    }
    return true;
  }

  /** Start and end of the first range, if any: used to advance an ack floor over a run of acks. */
  get firstStart(): bigint | undefined {
    return this.starts[0];
  }

  get firstEnd(): bigint | undefined {
    return this.ends[0];
  }

  /** Removes every offset below `offset`. */
  dropBelow(offset: bigint): void {
    if (this.starts.length === 0 || this.starts[0]! >= offset) return;
    let cut = 0;
    while (cut < this.starts.length && this.ends[cut]! <= offset) cut += 1;
    this.starts.splice(0, cut);
    this.ends.splice(0, cut);
    if (this.starts.length > 0 && this.starts[0]! < offset) this.starts[0] = offset;
  }

  /** One past the largest offset in the set, or undefined if it is empty. */
  get lastEnd(): bigint | undefined {
    return this.ends.at(-1);
  }

  clear(): void {
    this.starts = [];
    this.ends = [];
  }

  /** The ranges as [start, end) pairs, for snapshots and describe. */
  toArray(): [bigint, bigint][] {
    return this.starts.map((start, i) => [start, this.ends[i]!]);
  }

  static fromArray(ranges: readonly (readonly [bigint, bigint])[]): OffsetRanges {
    const set = new OffsetRanges();
    for (const [start, end] of ranges) {
      assert(start < end, 'empty range', { start, end });
      const last = set.ends.at(-1);
      assert(last === undefined || start > last, 'ranges must be sorted, disjoint and non-adjacent');
      set.starts.push(start);
      set.ends.push(end);
    }
    return set;
  }

  /** Index of the last range whose start is <= offset, or -1. */
  private lastStartAtOrBefore(offset: bigint): number {
    return lastIndexWhere(this.starts.length, (i) => this.starts[i]! <= offset);
  }
}
