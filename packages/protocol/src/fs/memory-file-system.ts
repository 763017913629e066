import { posix } from 'node:path';
import { assert, BrookError } from '../errors.js';
import type { Random } from '../random.js';
import type { FileHandle, FileSystem, OpenMode } from './file-system.js';
import { closedHandleError, ioError } from './io-error.js';
import { MemoryDir, MemoryFile, type MemoryNode } from './memory-file.js';

/**
 * An in-memory `FileSystem` with POSIX durability semantics and fault injection: the backend of
 * `storage: 'memory'` and of every crash test. Deterministic: no timers, no real I/O, every
 * operation completes in one synchronous step inside its promise.
 *
 * Model. Files are inodes (`MemoryFile`) with visible content and pending (unsynced) writes and
 * truncates; `FileHandle.sync()` makes the visible content durable. Directories have visible and
 * durable entry sets; `syncDir()` makes the visible ones durable. So, as on a real disk, a file
 * created in a directory that was never synced vanishes on power cut, a rename whose directory
 * was not synced reverts to the old name, and an unlinked file reappears. This includes `mkdir`:
 * a new directory survives only once its parent is synced. The root directory always exists.
 * Paths are POSIX, resolved against '/' and normalised; handles keep working on a file that was
 * renamed or unlinked after it was opened, as on POSIX.
 */

/** Operations `failNext` can fail. `read` is `FileHandle.readInto`; handle ops match the handle's path. */
export type FaultOp =
  | 'open' | 'read' | 'write' | 'sync' | 'truncate' | 'rename' | 'unlink' | 'mkdir' | 'rmdir' | 'syncDir' | 'readFile' | 'writeFile';

export interface FaultOptions {
  /** Only ops on this path (exact, after normalisation) or matching this pattern; for rename, either side. */
  path?: string | RegExp;
  errno: 'ENOSPC' | 'EIO';
  /** How many matching ops fail before the rule is used up. Default 1. */
  times?: number;
}

/**
 * Decides, per file with pending ops, how many of them (oldest first) reached the platter before
 * the power went, and how many bytes of the next write after those got through (a torn write).
 */
export type KeepPolicy = (path: string, pendingOps: number) => { ops: number; tornBytes?: number };

export interface PowerCutOptions {
  /** Default: keep nothing, every file reverts to exactly its synced content. */
  keep?: KeepPolicy;
}

/** What `onOperation` sees: `to` is set for rename. */
export interface FileSystemOperation {
  kind: FaultOp;
  path: string;
  to?: string;
}

export interface MemoryFileSystemStats {
  /** Successful `FileHandle.sync()` calls. */
  syncs: number;
  /** Successful `syncDir()` calls. */
  dirSyncs: number;
  /** Successful `FileHandle.write()` and `writeFile()` calls. */
  writes: number;
  bytesWritten: number;
}

/** Keep policy: every pending op survives, as if the disk had flushed everything. */
export const keepAllPending: KeepPolicy = (_path, pendingOps) => ({ ops: pendingOps });

/** Keep policy: all but each file's last pending op survive, plus `tornBytes` of it if it is a write. */
export function tearLastWrite(tornBytes: number): KeepPolicy {
  return (_path, pendingOps) => ({ ops: pendingOps - 1, tornBytes });
}

/** Keep policy for crash fuzzing: a seeded random surviving prefix and torn tail per file. */
export function keepRandomPending(random: Random, maxTornBytes = 4096): KeepPolicy {
  return (_path, pendingOps) => ({ ops: random.int(pendingOps + 1), tornBytes: random.int(maxTornBytes + 1) });
}

const keepNothing: KeepPolicy = () => ({ ops: 0 });

/** The operations `onOperation` hears about: those that change state, i.e. crash points. */
const MUTATING_OPS: ReadonlySet<FaultOp> = new Set<FaultOp>(['write', 'truncate', 'sync', 'rename', 'unlink', 'mkdir', 'rmdir', 'syncDir', 'writeFile']);

interface FaultRule extends FaultOptions {
  op: FaultOp;
  remaining: number;
}

/** State shared by the file system and its handles: faults, the hook, counters, the power epoch. */
class OperationGate {
  hook: ((op: FileSystemOperation) => void) | undefined;
  /** Bumped by every power cut; a handle opened in an older epoch is dead. */
  epoch = 0;
  readonly faults: FaultRule[] = [];
  readonly counters: MemoryFileSystemStats = { syncs: 0, dirSyncs: 0, writes: 0, bytesWritten: 0 };

  /**
   * Runs before an operation changes anything: the hook (a crash point; opening 'rw' counts as
   * one since it may create a file), then any armed fault. If the hook cut the power, the process
   * that issued this operation is "dead", so the operation must not happen on the rebooted disk.
   */
  pass(kind: FaultOp, path: string, options: { mayCreateFile?: boolean; to?: string } = {}): void {
    if (this.hook !== undefined && (MUTATING_OPS.has(kind) || options.mayCreateFile === true)) {
      const epoch = this.epoch;
      this.hook(options.to === undefined ? { kind, path } : { kind, path, to: options.to });
      if (this.epoch !== epoch) {
        throw new BrookError('CLOSED', `${kind} ${path} interrupted by a power cut`, { op: kind, path });
      }
    }
    const rule = this.faults.find((r) => r.op === kind && (matches(r.path, path) || (options.to !== undefined && matches(r.path, options.to))));
    if (rule === undefined) return;
    rule.remaining -= 1;
    if (rule.remaining === 0) this.faults.splice(this.faults.indexOf(rule), 1);
    throw ioError(kind, path, rule.errno);
  }
}

function matches(pattern: string | RegExp | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  return typeof pattern === 'string' ? normalize(pattern) === path : pattern.test(path);
}

function normalize(path: string): string {
  return posix.resolve('/', path);
}

function splitPath(normalized: string): string[] {
  return normalized === '/' ? [] : normalized.slice(1).split('/');
}

function assertPosition(value: number, what: string): void {
  assert(Number.isSafeInteger(value) && value >= 0, 'must be a non-negative integer', { what, value });
}

class MemoryFileHandle implements FileHandle {
  private closed = false;
  private readonly epoch: number;
  /** Faults and the hook match normalised paths; computed once, as writes are the hot path. */
  private readonly normalizedPath: string;

  constructor(
    readonly path: string,
    private readonly file: MemoryFile,
    private readonly gate: OperationGate,
    private readonly mode: OpenMode,
  ) {
    this.epoch = gate.epoch;
    this.normalizedPath = normalize(path);
  }

  async size(): Promise<number> {
    this.assertLive('size');
    return this.file.size;
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    assertPosition(position, 'write position');
    this.enter('write');
    this.refuseUnlessWritable('write', 'EBADF');
    this.file.write(data, position);
    this.gate.counters.writes += 1;
    this.gate.counters.bytesWritten += data.length;
  }

  async readInto(target: Uint8Array, targetOffset: number, length: number, position: number): Promise<number> {
    assertPosition(position, 'read position');
    assert(targetOffset >= 0 && length >= 0 && targetOffset + length <= target.length, 'read range outside target buffer');
    this.enter('read');
    return this.file.readInto(target, targetOffset, length, position);
  }

  async sync(): Promise<void> {
    this.enter('sync');
    this.file.sync();
    this.gate.counters.syncs += 1;
  }

  async truncate(length: number): Promise<void> {
    assertPosition(length, 'truncate length');
    this.enter('truncate');
    this.refuseUnlessWritable('truncate', 'EINVAL');
    this.file.truncate(length);
  }

  /** Idempotent on a handle the caller closed; rejects CLOSED on one killed by a power cut. */
  async close(): Promise<void> {
    if (this.epoch !== this.gate.epoch) throw closedHandleError('close', this.path);
    this.closed = true;
  }

  private assertLive(op: string): void {
    if (this.closed || this.epoch !== this.gate.epoch) throw closedHandleError(op, this.path);
  }

  /** As Linux answers a write (EBADF) or ftruncate (EINVAL) on a file opened read-only. */
  private refuseUnlessWritable(op: FaultOp, errno: string): void {
    if (this.mode !== 'rw') throw ioError(op, this.normalizedPath, errno);
  }

  private enter(op: FaultOp): void {
    this.assertLive(op);
    this.gate.pass(op, this.normalizedPath);
  }
}

export class MemoryFileSystem implements FileSystem {
  private readonly root = new MemoryDir();
  private readonly gate = new OperationGate();

  /**
   * Called before every mutating operation (write, truncate, sync, rename, unlink, mkdir, rmdir,
   * syncDir, writeFile, and open in 'rw' mode). A test enumerates crash points by counting calls
   * and, at the nth, throwing (the op fails, nothing changes) or calling `powerCut()` (the op is
   * abandoned with CLOSED, as its process died).
   */
  get onOperation(): ((op: FileSystemOperation) => void) | undefined {
    return this.gate.hook;
  }

  set onOperation(hook: ((op: FileSystemOperation) => void) | undefined) {
    this.gate.hook = hook;
  }

  /** Counters since construction (power cuts do not reset them), e.g. to assert group commit. */
  stats(): MemoryFileSystemStats {
    return { ...this.gate.counters };
  }

  /**
   * Arms a fault: the next `times` operations of kind `op` (on `path`, if given) reject with
   * IO_ERROR carrying `errno` and change nothing: a failed write writes no byte, a failed sync
   * makes nothing durable, a failed rename moves nothing. Rules are checked in the order armed.
   */
  failNext(op: FaultOp, options: FaultOptions): void {
    const times = options.times ?? 1;
    assert(Number.isInteger(times) && times >= 1, 'failNext times must be a positive integer', { times });
    this.gate.faults.push({ ...options, op, remaining: times });
  }

  /**
   * Simulated power loss and reboot. Every directory reverts to its durable entries; every file
   * still reachable reverts to its durable content plus what `options.keep` says survived of its
   * pending ops (called once per file with pending ops, in path order). All handles opened before
   * become dead: every call on them, close included, rejects CLOSED. Armed faults and the hook
   * stay; the file system is immediately usable again.
   */
  powerCut(options: PowerCutOptions = {}): void {
    this.gate.epoch += 1;
    revertTree(this.root, '/', options.keep ?? keepNothing, new Set());
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const normalized = normalize(path);
    this.gate.pass('open', normalized, { mayCreateFile: mode === 'rw' });
    const { parent, name, node } = this.locate('open', normalized);
    if (node instanceof MemoryDir) throw ioError('open', normalized, 'EISDIR');
    if (node !== undefined) return new MemoryFileHandle(path, node, this.gate, mode);
    if (mode === 'r') throw ioError('open', normalized, 'ENOENT');
    const created = new MemoryFile();
    parent.set(name, created);
    return new MemoryFileHandle(path, created, this.gate, mode);
  }

  async readFile(path: string): Promise<Uint8Array> {
    const normalized = normalize(path);
    this.gate.pass('readFile', normalized);
    const { node } = this.locate('readFile', normalized);
    if (node === undefined) throw ioError('readFile', normalized, 'ENOENT');
    if (node instanceof MemoryDir) throw ioError('readFile', normalized, 'EISDIR');
    return node.snapshot();
  }

  /** Like node's: the same inode, truncated then written, so it is two pending ops. */
  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const normalized = normalize(path);
    this.gate.pass('writeFile', normalized);
    const { parent, name, node } = this.locate('writeFile', normalized);
    if (node instanceof MemoryDir) throw ioError('writeFile', normalized, 'EISDIR');
    const file = node ?? new MemoryFile();
    if (node === undefined) parent.set(name, file);
    file.truncate(0);
    file.write(data, 0);
    this.gate.counters.writes += 1;
    this.gate.counters.bytesWritten += data.length;
  }

  async rename(from: string, to: string): Promise<void> {
    const source = normalize(from);
    const target = normalize(to);
    this.gate.pass('rename', source, { to: target });
    const src = this.locate('rename', source);
    if (src.node === undefined) throw ioError('rename', source, 'ENOENT');
    const dst = this.locate('rename', target);
    if (source === target) return;
    const errno = renameConflict(src.node, dst.node, source, target);
    if (errno !== undefined) throw ioError('rename', source, errno);
    src.parent.delete(src.name);
    dst.parent.set(dst.name, src.node);
  }

  async unlink(path: string): Promise<void> {
    const normalized = normalize(path);
    this.gate.pass('unlink', normalized);
    const names = splitPath(normalized);
    const parent = this.lookup(names.slice(0, -1));
    const name = names[names.length - 1];
    if (!(parent instanceof MemoryDir) || name === undefined) return;
    if (parent.visible.get(name) instanceof MemoryDir) throw ioError('unlink', normalized, 'EISDIR');
    parent.delete(name);
  }

  async mkdir(path: string): Promise<void> {
    const normalized = normalize(path);
    this.gate.pass('mkdir', normalized);
    const names = splitPath(normalized);
    let dir = this.root;
    for (const [index, name] of names.entries()) {
      const child = dir.visible.get(name) ?? new MemoryDir();
      if (!(child instanceof MemoryDir)) throw ioError('mkdir', normalized, index === names.length - 1 ? 'EEXIST' : 'ENOTDIR');
      dir.set(name, child);
      dir = child;
    }
  }

  /** Detaches the directory from its parent; its subtree goes with it (and comes back with it). */
  async rmdir(path: string): Promise<void> {
    const normalized = normalize(path);
    this.gate.pass('rmdir', normalized);
    const names = splitPath(normalized);
    const parent = this.lookup(names.slice(0, -1));
    const name = names[names.length - 1];
    if (name === undefined) throw ioError('rmdir', normalized, 'EBUSY');
    if (parent instanceof MemoryDir) parent.delete(name);
  }

  async readdir(path: string): Promise<string[]> {
    const normalized = normalize(path);
    return [...this.dirAt('readdir', normalized).visible.keys()].sort();
  }

  async exists(path: string): Promise<boolean> {
    return typeof this.lookup(splitPath(normalize(path))) !== 'string';
  }

  async syncDir(path: string): Promise<void> {
    const normalized = normalize(path);
    this.gate.pass('syncDir', normalized);
    this.dirAt('syncDir', normalized).sync();
    this.gate.counters.dirSyncs += 1;
  }

  /** Walks visible entries; a string result is the errno a real file system would give. */
  private lookup(names: readonly string[]): MemoryNode | 'ENOENT' | 'ENOTDIR' {
    let node: MemoryNode = this.root;
    for (const name of names) {
      if (!(node instanceof MemoryDir)) return 'ENOTDIR';
      const child: MemoryNode | undefined = node.visible.get(name);
      if (child === undefined) return 'ENOENT';
      node = child;
    }
    return node;
  }

  private dirAt(op: string, normalized: string): MemoryDir {
    const node = this.lookup(splitPath(normalized));
    if (typeof node === 'string') throw ioError(op, normalized, node);
    if (!(node instanceof MemoryDir)) throw ioError(op, normalized, 'ENOTDIR');
    return node;
  }

  /** The parent directory (which must exist) and the entry, if any, of a non-root path. */
  private locate(op: string, normalized: string): { parent: MemoryDir; name: string; node: MemoryNode | undefined } {
    const names = splitPath(normalized);
    const name = names.pop();
    if (name === undefined) throw ioError(op, normalized, 'EISDIR');
    const parent = this.dirAt(op, posix.dirname(normalized));
    return { parent, name, node: parent.visible.get(name) };
  }
}

/** The errno POSIX rename(2) gives for moving `source` onto `target`, or undefined if allowed. */
function renameConflict(source: MemoryNode, target: MemoryNode | undefined, sourcePath: string, targetPath: string): string | undefined {
  if (!(source instanceof MemoryDir)) return target instanceof MemoryDir ? 'EISDIR' : undefined;
  if (targetPath.startsWith(`${sourcePath}/`)) return 'EINVAL';
  if (target === undefined) return undefined;
  if (!(target instanceof MemoryDir)) return 'ENOTDIR';
  return target.visible.size > 0 ? 'ENOTEMPTY' : undefined;
}

/**
 * Reverts a directory to its durable entries, then each file and subdirectory reachable from
 * them. `seen` makes each inode revert once even if durable entries name it twice (possible when
 * a rename's source and target directories were synced independently).
 */
function revertTree(dir: MemoryDir, path: string, keep: KeepPolicy, seen: Set<MemoryNode>): void {
  dir.revert();
  for (const name of [...dir.visible.keys()].sort()) {
    const node = dir.visible.get(name)!;
    if (seen.has(node)) continue;
    seen.add(node);
    const childPath = posix.join(path, name);
    if (node instanceof MemoryDir) {
      revertTree(node, childPath, keep, seen);
    } else if (node.pendingOps > 0) {
      const decision = keep(childPath, node.pendingOps);
      node.crash(decision.ops, decision.tornBytes ?? 0);
    }
  }
}
