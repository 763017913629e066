/**
 * The batches a partition log appended last, kept in memory up to a byte budget
 * (logTailCacheBytes), so that a reader caught up with the tail (a consumer group's window, a
 * fetch at the end) gets them without a file read, a thread-pool round trip, and a CRC pass over
 * bytes this process has just written.
 *
 * The log adds each round's batches in the same synchronous step that makes them visible, so the
 * cache always holds a run of consecutive offsets ending at the log's endOffset; a read starting
 * before that run goes to the file. Callers of append hand over valid batches (the broker checks
 * every produced batch, CRC included, or encodes it itself), which is why a cached batch may be
 * decoded with crcVerified like one the reader checked.
 */
import { isSlabView, type BatchHeader } from '@brook/protocol';
import { lastIndexWhere } from './bisect.js';
import { addToRead, type ReadBatch, type ReadLimits, type ReadState } from './log-reader.js';

export class TailCache {
  /** Oldest first; entries before `head` are evicted and dropped in bulk by `compact`. */
  private batches: ReadBatch[] = [];
  /**
   * Each batch's byte length, beside it: eviction reads the oldest's here rather than through its
   * entry and its bytes' view, two objects long out of the CPU's cache (it was the most expensive
   * line of an append round in a produce profile).
   */
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A batch the log has just made visible, right after the previous one. */
  add(header: BatchHeader, bytes: Uint8Array): void {
    if (bytes.length > this.maxBytes) {
      // It could never stay: empty the cache, since what remains would no longer end at endOffset.
      this.batches = [];
      this.sizes = [];
      this.head = 0;
      this.bytes = 0;
      return;
    }
    // A view into a much larger buffer (a socket read of many frames) would keep all of it
    // alive, so it is copied; one that is most of its buffer (a large produce request's batch)
    // and a slab's views (an encoded produce call, handed out back to back) are kept as they are.
    const owned = bytes.byteLength * 4 >= bytes.buffer.byteLength * 3 || isSlabView(bytes) ? bytes : bytes.slice();
    this.batches.push({ header, bytes: owned });
    this.sizes.push(owned.length);
    this.bytes += owned.length;
    while (this.bytes > this.maxBytes) this.bytes -= this.sizes[this.head++]!;
    if (this.head > 64 && this.head * 2 > this.batches.length) this.compact();
  }

  /** What LogReader.read would return for `offset` (below the cache's end, the log's endOffset),
   * or undefined if `offset` is before the cached run. */
  read(offset: bigint, limits: ReadLimits): ReadBatch[] | undefined {
    const { batches, head } = this;
    if (head === batches.length || offset < batches[head]!.header.baseOffset) return undefined;
    const at = head + lastIndexWhere(batches.length - head, (i) => batches[head + i]!.header.baseOffset <= offset);
    const result: ReadState = { batches: [], totalBytes: 0, records: 0 };
    for (let i = at; i < batches.length; i++) {
      if (addToRead(result, batches[i]!.header, batches[i]!.bytes, offset, limits, true)) break;
    }
    return result.batches;
  }

  private compact(): void {
    this.batches = this.batches.slice(this.head);
    this.sizes = this.sizes.slice(this.head);
    this.head = 0;
  }
}
