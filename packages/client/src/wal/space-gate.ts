/**
 * walBytesMax as admission control for put(), a whole put at a time (all its records or none).
 * Admission is strictly FIFO: a put that has to wait holds back every later one, even a smaller
 * one that would fit, because records must land in the WAL in the order put() was called. The
 * admitted put's work runs inside the admitting step (synchronously in `release`), so no put
 * arriving in between can overtake it.
 */
import { BrookError, assert } from '@brook/protocol';
import type { OnFull } from './limits.js';

interface Waiter {
  readonly bytes: number;
  readonly admitted: () => void;
  readonly rejected: (error: unknown) => void;
}

export class SpaceGate {
  private usedBytes: number;
  private readonly waiters: Waiter[] = [];

  /** @param onBlocked called when a put cannot be admitted: the buffer seals its open batch so a sender can drain it. */
  constructor(
    private readonly limitBytes: number,
    private readonly onFull: OnFull,
    private readonly onBlocked: () => void,
    initialBytes: number,
  ) {
    this.usedBytes = initialBytes;
  }

  get used(): number {
    return this.usedBytes;
  }

  /**
   * Runs `apply` once `bytes` fit: now, later (onFull 'wait'), or never (BUFFER_FULL). `bytes`
   * must be at most the limit, or a waiting put would never be admitted.
   */
  admit<T>(bytes: number, apply: () => Promise<T>): Promise<T> {
    assert(bytes <= this.limitBytes, `a put of ${bytes} bytes can never fit under ${this.limitBytes}`);
    if (this.waiters.length === 0 && this.usedBytes + bytes <= this.limitBytes) {
      this.usedBytes += bytes;
      return apply();
    }
    this.onBlocked();
    if (this.onFull === 'reject') {
      return Promise.reject(new BrookError('BUFFER_FULL', `WAL holds ${this.usedBytes} uncommitted bytes, walBytesMax is ${this.limitBytes}`, {
        usedBytes: this.usedBytes, limitBytes: this.limitBytes, bytes,
      }));
    }
    return new Promise<T>((resolve, reject) => {
      this.waiters.push({ bytes, admitted: () => resolve(apply()), rejected: reject });
    });
  }

  release(bytes: number): void {
    this.usedBytes -= bytes;
    let admitted = false;
    for (let head = this.waiters[0]; head !== undefined && this.usedBytes + head.bytes <= this.limitBytes; head = this.waiters[0]) {
      this.waiters.shift();
      this.usedBytes += head.bytes;
      head.admitted();
      admitted = true;
    }
    // Those admitted went into the open batch; a put still waiting needs that batch sealed and
    // sent to make room, not left open until maxAgeMs.
    if (admitted && this.waiters.length > 0) this.onBlocked();
  }

  rejectWaiting(error: unknown): void {
    for (const waiter of this.waiters.splice(0)) waiter.rejected(error);
  }
}
