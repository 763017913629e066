import { assert } from '../errors.js';
import { ChunkedBytes } from './chunked-bytes.js';

/**
 * The inodes behind `MemoryFileSystem`. A file's content lives in one growable `ChunkedBytes` (the
 * visible content); what a power cut would leave is not stored as a second copy but derived by
 * undoing the pending (unsynced) operations, newest first. That keeps `sync()` O(1) and memory at
 * one copy of the data, which matters when `storage: 'memory'` holds hundreds of MB: an append
 * records only its position and lengths, and bytes are saved only when a write overwrites or a
 * truncate cuts off existing data.
 */

const EMPTY = new Uint8Array(0);

/** What it takes to reverse one unsynced operation. */
type UndoEntry =
  | { kind: 'write'; position: number; writtenLength: number; oldLength: number; overwritten: Uint8Array }
  | { kind: 'truncate'; oldLength: number; removed: Uint8Array };

export class MemoryFile {
  /** Bytes past `length` are always zero, so growing the file (truncate up, write past the end) reads zeros. */
  private readonly bytes = new ChunkedBytes();
  private length = 0;
  /** Unsynced operations, oldest first. */
  private undoLog: UndoEntry[] = [];

  get size(): number {
    return this.length;
  }

  get pendingOps(): number {
    return this.undoLog.length;
  }

  /** A copy of the visible content. */
  snapshot(): Uint8Array {
    return this.bytes.copyOut(0, this.length);
  }

  write(data: Uint8Array, position: number): void {
    // Like pwrite(2): writing nothing changes nothing, not even the length past a gap.
    if (data.length === 0) return;
    const overlapEnd = Math.min(position + data.length, this.length);
    this.undoLog.push({
      kind: 'write',
      position,
      writtenLength: data.length,
      oldLength: this.length,
      overwritten: position < overlapEnd ? this.bytes.copyOut(position, overlapEnd) : EMPTY,
    });
    this.applyWrite(data, position);
  }

  truncate(length: number): void {
    const removed = length < this.length ? this.bytes.copyOut(length, this.length) : EMPTY;
    this.undoLog.push({ kind: 'truncate', oldLength: this.length, removed });
    this.setLength(length);
  }

  /** Copies up to `length` bytes at `position` into `target`; returns how many (0 past the end). */
  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    const count = Math.max(0, Math.min(length, this.length - position));
    this.bytes.readInto(target, targetOffset, position, position + count);
    return count;
  }

  /** fdatasync: the visible content becomes the durable content. */
  sync(): void {
    this.undoLog = [];
  }

  /**
   * Power cut: keep the first `keepOps` pending operations, plus the first `tornBytes` bytes of
   * the next one if it is a write, and lose the rest. What remains is on "disk", hence durable.
   */
  crash(keepOps: number, tornBytes: number): void {
    assert(Number.isInteger(keepOps) && keepOps >= 0 && keepOps <= this.undoLog.length, 'keepOps out of range', { keepOps, ops: this.undoLog.length });
    assert(Number.isInteger(tornBytes) && tornBytes >= 0, 'tornBytes must be a non-negative integer', { tornBytes });
    while (this.undoLog.length > keepOps + 1) this.undo(this.undoLog.pop()!);
    const torn = this.undoLog.length > keepOps ? this.undoLog.pop()! : undefined;
    if (torn !== undefined) {
      // While `torn` is still applied, the buffer holds exactly the bytes it wrote.
      const survivor = torn.kind === 'write' ? this.bytes.copyOut(torn.position, torn.position + Math.min(tornBytes, torn.writtenLength)) : EMPTY;
      this.undo(torn);
      if (survivor.length > 0 && torn.kind === 'write') this.applyWrite(survivor, torn.position);
    }
    this.undoLog = [];
  }

  private undo(entry: UndoEntry): void {
    if (entry.kind === 'write') {
      this.bytes.write(entry.overwritten, entry.position);
      this.setLength(entry.oldLength);
    } else {
      this.setLength(entry.oldLength);
      this.bytes.write(entry.removed, entry.oldLength - entry.removed.length);
    }
  }

  private applyWrite(data: Uint8Array, position: number): void {
    if (data.length === 0) return;
    const end = position + data.length;
    this.bytes.write(data, position);
    if (end > this.length) this.length = end;
  }

  private setLength(length: number): void {
    // Bytes past the length are zero already (and read as zero past the capacity): growing needs nothing.
    if (length < this.length) this.bytes.zero(length, this.length);
    this.length = length;
  }
}

/**
 * A directory: `visible` is what lookups see now, `durable` what a power cut reverts to. Entries
 * point at inodes, so a rename moves the same `MemoryFile` and an open handle follows it.
 */
export class MemoryDir {
  private current = new Map<string, MemoryNode>();
  private durable = new Map<string, MemoryNode>();
  /**
   * The names whose entry changed since the last sync: every other name has the same entry in
   * both maps, so a sync copies only these. Copying every entry made a sync O(entries), and n
   * topics or groups created one by one in a directory O(n^2) (5 s for 10,000 topics).
   */
  private readonly changed = new Set<string>();

  get visible(): ReadonlyMap<string, MemoryNode> {
    return this.current;
  }

  set(name: string, node: MemoryNode): void {
    this.current.set(name, node);
    this.changed.add(name);
  }

  delete(name: string): void {
    if (this.current.delete(name)) this.changed.add(name);
  }

  /** syncDir: the current entries survive a power cut. */
  sync(): void {
    for (const name of this.changed) {
      const node = this.current.get(name);
      if (node === undefined) this.durable.delete(name);
      else this.durable.set(name, node);
    }
    this.changed.clear();
  }

  /** Power cut: back to the entries of the last sync. */
  revert(): void {
    this.current = new Map(this.durable);
    this.changed.clear();
  }
}

export type MemoryNode = MemoryFile | MemoryDir;
