/**
 * Walks the record batches of one segment file from a byte position, reading the file in chunks.
 * It is the only code that parses a log file: recovery uses it to find the torn tail, reads use
 * it after an index lookup, and verification uses it to check a whole segment. It never throws on
 * bad bytes; it reports the first problem as a `ScanProblem` and stops, and the caller decides
 * what a problem means (torn tail to truncate, or corruption to refuse).
 */
import { BATCH_LOG_OVERHEAD_BYTES, checkBatch, type BatchHeader, type FileHandle } from '@brook/protocol';

/** Offset of the i32 batchLength inside a batch (after the i64 baseOffset). */
const BATCH_LENGTH_POSITION = 8;

/**
 * The first read of a scan: a consumer's read wants a round of its credit (tens of KiB), and a
 * scanner that started with a whole chunk allocated, zeroed and copied 1 MiB for it each time
 * (a quarter of the engine's time reading a backlog). Each further read doubles, up to chunkBytes,
 * so a long scan (recovery, verify) still reads in whole chunks after a few steps.
 */
const FIRST_READ_BYTES = 64 * 1024;

export interface ScannedBatch {
  readonly position: number;
  readonly size: number;
  readonly header: BatchHeader;
  /** A view of the batch's bytes; valid until the scanner advances (copy to keep). */
  readonly bytes: Uint8Array;
}

export interface ScanProblem {
  readonly position: number;
  /**
   * 'truncated': the file ends inside this batch (a torn write). 'bad-offset': a valid batch
   * whose base offset breaks the contiguous sequence. The others mean bad bytes.
   */
  readonly reason: 'truncated' | 'bad-length' | 'bad-magic' | 'bad-crc' | 'bad-offset';
  readonly detail: string;
}

export interface ScanOptions {
  readonly startPosition: number;
  /** Bytes of the file to consider; a batch must end at or before this position. */
  readonly endPosition: number;
  readonly chunkBytes: number;
  readonly batchBytesMax: number;
  /**
   * The base offset the batch at startPosition must have; each later batch must continue where
   * the one before ended. The CRC does not cover a batch's baseOffset, so without this a damaged
   * one in a segment reads as a good batch at the wrong offsets ('bad-offset'). Undefined: not
   * checked (a dump of any file).
   */
  readonly firstBaseOffset?: bigint;
}

export class BatchScanner {
  private buffer: Uint8Array;
  /** File position of buffer[0], and how many bytes of the buffer are filled. */
  private bufferPosition = 0;
  private bufferFilled = 0;
  private position: number;
  /** The base offset the next batch must have, when the options name the first one. */
  private expectedBaseOffset: bigint | undefined;
  problem: ScanProblem | undefined;

  constructor(
    private readonly file: FileHandle,
    private readonly options: ScanOptions,
  ) {
    // Never more than the range: a read near the tail of the log must not allocate a whole chunk.
    this.buffer = new Uint8Array(Math.max(0, Math.min(FIRST_READ_BYTES, options.chunkBytes, options.endPosition - options.startPosition)));
    this.position = options.startPosition;
    this.bufferPosition = options.startPosition;
    this.expectedBaseOffset = options.firstBaseOffset;
  }

  /** The next good batch, or undefined at the end of the range or at the first problem. */
  async next(): Promise<ScannedBatch | undefined> {
    if (this.problem || this.position >= this.options.endPosition) return undefined;
    if (!(await this.ensureBuffered(BATCH_LOG_OVERHEAD_BYTES))) return undefined;
    const at = this.position - this.bufferPosition;
    const batchLength = new DataView(this.buffer.buffer, this.buffer.byteOffset).getInt32(at + BATCH_LENGTH_POSITION);
    const size = BATCH_LOG_OVERHEAD_BYTES + batchLength;
    const sane = batchLength > 0 && batchLength <= this.options.batchBytesMax; // the bound checkBatch applies
    if (sane && !(await this.ensureBuffered(size))) return undefined;
    const start = this.position - this.bufferPosition;
    const check = checkBatch(this.buffer, start, start + (sane ? size : this.bufferFilled - start), this.options.batchBytesMax);
    if (!check.ok) {
      this.problem = { position: this.position, reason: check.reason, detail: check.detail };
      return undefined;
    }
    const { baseOffset, lastOffsetDelta } = check.header;
    if (this.expectedBaseOffset !== undefined) {
      if (baseOffset !== this.expectedBaseOffset) {
        const detail = `batch at position ${this.position} has base offset ${baseOffset}, expected ${this.expectedBaseOffset}`;
        this.problem = { position: this.position, reason: 'bad-offset', detail };
        return undefined;
      }
      this.expectedBaseOffset = baseOffset + BigInt(lastOffsetDelta) + 1n;
    }
    const batch: ScannedBatch = {
      position: this.position,
      size: check.size,
      header: check.header,
      bytes: this.buffer.subarray(start, start + check.size),
    };
    this.position += check.size;
    return batch;
  }

  /**
   * Makes `bytes` bytes from the current position available in the buffer, reading the file as
   * needed. Records a 'truncated' problem and returns false if the range ends first.
   */
  private async ensureBuffered(bytes: number): Promise<boolean> {
    if (this.position + bytes > this.options.endPosition) {
      this.problem = {
        position: this.position,
        reason: 'truncated',
        detail: `needs ${bytes} bytes at position ${this.position} but the file ends at ${this.options.endPosition}`,
      };
      return false;
    }
    if (this.position + bytes <= this.bufferPosition + this.bufferFilled) return true;
    // A scan that needs a second read is a long one: read more at a time (a new buffer, so the
    // views of batches already returned stay as they were).
    const grown = this.bufferFilled > 0 ? Math.min(this.options.chunkBytes, this.buffer.length * 2, this.options.endPosition - this.position) : 0;
    if (Math.max(bytes, grown) > this.buffer.length) this.buffer = new Uint8Array(Math.max(bytes, grown));
    const length = Math.min(this.buffer.length, this.options.endPosition - this.position);
    const read = await this.file.readInto(this.buffer, 0, length, this.position);
    this.bufferPosition = this.position;
    this.bufferFilled = read;
    if (read < bytes) {
      this.problem = {
        position: this.position,
        reason: 'truncated',
        detail: `read ${read} of ${bytes} bytes at position ${this.position}`,
      };
      return false;
    }
    return true;
  }
}
