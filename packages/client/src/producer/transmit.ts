/**
 * Sending one partition batch until the broker has answered for good: the retry loop shared by
 * the in-memory producer (partition-lane.ts) and the WAL producer (wal-sender.ts). What differs
 * between the two is only where a batch's producer id and sequence come from and what happens
 * when the broker can no longer vouch for them: that is the `Numbering`.
 *
 *   DISCONNECTED                              resend at once, same bytes (the request waits for the reconnect)
 *   UNKNOWN_PRODUCER_ID, OUT_OF_ORDER_SEQUENCE `numbering.lost`: the batch gets a new identity or sequence
 *                                             (also a batch whose id another broker data directory issued);
 *                                             at once the first time, after the backoff if it comes again
 *   MESSAGE_TOO_LARGE, TOPIC_FULL,            `numbering.split`, if it has one: its records go on in two halves
 *     several records                         (at once: a half may fit the room a full topic has left)
 *   other retriable (TIMEOUT, TOPIC_FULL, ..)  resend the same bytes after a jittered exponential backoff
 *   anything else, or the connection closed   `numbering.refused`, and the batch fails with the error
 *
 * The rule without the numbering (readyToRetry) also retries the partition lookup of a first send.
 */
import { BrookError, isBrookError, type Clock, type Random, type Timer } from '@brook/protocol';
import type { Connection } from '../connection.js';
import type { BackoffPolicy } from '../options.js';
import { backoffDelayMs } from '../transport/backoff.js';
import type { Batch } from './batch.js';

export interface TransmitContext {
  readonly connection: Connection;
  readonly clock: Clock;
  readonly random: Random;
  readonly retryBackoff: BackoffPolicy;
  /** Told about each retriable failure before the backoff (the WAL producer reports them). */
  readonly retrying?: (retry: RetryReport) => void;
}

export interface RetryReport {
  readonly topic: string;
  readonly partition: number;
  readonly error: BrookError;
  /** 0 for the first retry. */
  readonly attempt: number;
  readonly delayMs: number;
}

/** Where a batch's producer id and sequence come from. */
export interface Numbering {
  /** The bytes to send: fixes the batch's identity and sequence at the first call, the same bytes after. */
  encode(batch: Batch): Promise<Uint8Array>;
  /**
   * The broker answered UNKNOWN_PRODUCER_ID or OUT_OF_ORDER_SEQUENCE: it checked the sequence
   * before appending, so the batch is not in the log under it; the next encode() must renumber.
   */
  lost(batch: Batch): void;
  /** The broker refused the batch for good (or the connection is closed); it fails with `error` next. */
  refused(batch: Batch, error: BrookError): void;
  /**
   * The batch is too large for the server now on the connection (MESSAGE_TOO_LARGE: one that came
   * back with lower limits than the batch was cut to), or for the room a discard 'new' partition
   * has left (TOPIC_FULL): true if its records go on in smaller batches instead, and the batch is
   * done. Without it, or given false, the batch fails (MESSAGE_TOO_LARGE) or is sent again whole
   * after the backoff (TOPIC_FULL).
   */
  split?(batch: Batch): boolean;
}

/** Sends `batch` to `topic`/`partition` until it is written or has failed; never rejects. */
export async function transmit(context: TransmitContext, topic: string, partition: number, batch: Batch, numbering: Numbering): Promise<void> {
  for (let attempt = 0; !batch.done; attempt++) {
    try {
      const data = await numbering.encode(batch);
      // Done meanwhile: its request would be refused (withdrawn) unsent, and must not count as
      // an attempt (the WAL producer takes a part with attempts as possibly in the log).
      if (batch.done) return;
      batch.attempts += 1;
      // A batch that fails (deliveryTimeoutMs) while its request waits for a reconnect is never
      // sent: a send() that reported TIMEOUT must not be appended afterwards.
      // With the id's incarnation: a broker on another data directory, which may have issued
      // the id again, refuses the batch (UNKNOWN_PRODUCER_ID) instead of taking it for a duplicate.
      const { incarnation } = batch;
      const { json } = await context.connection.request('produce', { topic, partition, ...(incarnation !== undefined && { incarnation }) }, { data, withdrawal: batch });
      if (!batch.done) batch.written(partition, BigInt(json.baseOffset), json.duplicate);
    } catch (error) {
      if (!batch.done) await recover(context, { topic, partition }, batch, numbering, error, attempt);
    }
  }
}

async function recover(context: TransmitContext, target: { topic: string; partition: number }, batch: Batch, numbering: Numbering, error: unknown, attempt: number): Promise<void> {
  const failure = toBrookError(error);
  // A batch that fails meanwhile (delivery timeout, producer closing) stops waiting at once.
  const report = (delayMs: number): void => context.retrying?.({ ...target, error: failure, attempt, delayMs });
  if (!context.connection.isClosed && isNumberingLoss(failure)) {
    // Renumbered once already (a fresh id at sequence 0, which a broker keeping the rules takes):
    // this broker keeps refusing, so renumber after the backoff, not in a loop of requests.
    const again = batch.lastFailure !== undefined && isNumberingLoss(batch.lastFailure);
    batch.lastFailure = failure;
    numbering.lost(batch);
    if (again) await backOff(context, attempt, batch.settled, report);
    return;
  }
  batch.lastFailure = failure;
  // TOPIC_FULL too: sends merged into one batch then go as far as there is room, as each send
  // alone would (the broker's rule for its own merged writes, semantics.md), rather than all wait
  // for room for the whole batch. Halves at once, so at most log2(records) extra requests.
  if (isSplittable(failure) && !context.connection.isClosed && numbering.split?.(batch)) return;
  if (await readyToRetry(context, failure, attempt, batch.settled, report)) return;
  numbering.refused(batch, failure);
  batch.fail(failure);
}

/** Refusals a smaller batch of the same records may not meet. */
function isSplittable(failure: BrookError): boolean {
  return failure.code === 'MESSAGE_TOO_LARGE' || failure.code === 'TOPIC_FULL';
}

/** The broker cannot vouch for the batch's producer id or sequence: it needs a new numbering. */
function isNumberingLoss(failure: BrookError): boolean {
  return failure.code === 'UNKNOWN_PRODUCER_ID' || failure.code === 'OUT_OF_ORDER_SEQUENCE';
}

/**
 * The retry rule of every request on the send path (produce, and the partition lookup before
 * it): after `failure`, resolves true once the request may go again — at once for DISCONNECTED
 * (the request waits for the reconnect), after a jittered exponential backoff for another
 * retriable error, cut short when `stop` settles — or false if it must not: the error is not
 * retriable, or the connection is closed for good.
 */
export async function readyToRetry(context: TransmitContext, failure: BrookError, attempt: number, stop: Promise<unknown>, backingOff?: (delayMs: number) => void): Promise<boolean> {
  if (context.connection.isClosed) return false;
  if (failure.code === 'DISCONNECTED') return true;
  if (!failure.retriable) return false;
  await backOff(context, attempt, stop, backingOff);
  return true;
}

/** Waits the jittered exponential retry backoff of `attempt`, cut short when `stop` settles. */
async function backOff(context: TransmitContext, attempt: number, stop: Promise<unknown>, backingOff?: (delayMs: number) => void): Promise<void> {
  const delayMs = backoffDelayMs(context.retryBackoff, attempt, context.random);
  backingOff?.(delayMs);
  let timer: Timer | undefined;
  const slept = new Promise<void>((resolve) => (timer = context.clock.setTimer(delayMs, resolve)));
  await Promise.race([slept, stop]);
  timer?.cancel();
}

/**
 * The TIMEOUT of a send that kept failing: names the last failure (code in details.lastError, the
 * error as cause), so a caller can tell a full topic (TOPIC_FULL) or a lost connection from a slow
 * broker without reading messages.
 */
export function deliveryTimeout(message: string, details: Record<string, unknown>, lastFailure: BrookError | undefined): BrookError {
  if (!lastFailure) return new BrookError('TIMEOUT', message, details);
  return new BrookError('TIMEOUT', `${message}; last failure: ${lastFailure.code}`, { ...details, lastError: lastFailure.code }, { cause: lastFailure });
}

/** A failure as a BrookError: anything else thrown on the send path is a bug, reported as INVALID_REQUEST. */
export function toBrookError(error: unknown): BrookError {
  return isBrookError(error) ? error : new BrookError('INVALID_REQUEST', String(error), {}, { cause: error });
}
