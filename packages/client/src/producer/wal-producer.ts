/**
 * The producer with a write-ahead log: `client.producer({ wal: { dir } })`. send() resolves once
 * the records are in the WAL (persisted per its fsync policy), not once the broker has them; a
 * background sender (wal-sender.ts) delivers WAL batches with retries and commits each after the
 * broker's acknowledgement. A producer killed at any moment and reopened on the same directory
 * resends what was not committed with its original producer id and sequences, so the broker
 * drops what it already has: every record ends up in the log exactly once (docs/wal.md).
 *
 * Partitions are chosen at send() time (partitioner.ts, as the plain producer does) and stored
 * with each record (wal-route.ts), so they are never chosen again after a crash. Sends are
 * admitted in call order, so the WAL, and hence each partition, keeps the caller's order.
 */
import { EventEmitter } from 'eventemitter3';
import { BATCH_HEADER_BYTES, BrookError, checkOptionKeys, NodeFileSystem, type Clock, type OptionKeys, type Random, type RecordInput } from '@brook/protocol';
import type { Connection } from '../connection.js';
import { invalid, resolveMetadataMaxAge, resolveRetryBackoff, type BackoffPolicy } from '../options.js';
import { checkSendArguments, toSendInputs, type ProducerRecord, type SendInputs } from '../values.js';
import { FileBuffer, type FileBufferStats, type WalBatch } from '../wal/file-buffer.js';
import { FILE_BUFFER_KEYS, resolveOptions, type FileBufferOptions } from '../wal/limits.js';
import { recordSizesWithin } from './batch.js';
import { Partitioner } from './partitioner.js';
import { FRAME_OVERHEAD_BYTES } from './producer.js';
import type { TopicPartitions } from './topic-partitions.js';
import type { RetryReport, TransmitContext } from './transmit.js';
import { WalSender, type PoisonReport, type SentPart } from './wal-sender.js';
import { groupByRoute, routed, type RoutedGroup } from './wal-route.js';
import { STATE_FILE, loadState, type WalProducerState } from './wal-state.js';

export interface WalOptions extends FileBufferOptions {
  /**
   * For failure drills and demos: awaited after the broker acknowledged every part of a WAL
   * batch, before the state file and the WAL commit are written (the window of issue case 8).
   */
  afterAck?: (batch: WalBatch) => Promise<void> | void;
}

export interface WalProducerOptions {
  wal: WalOptions;
  /** Backoff between resends of a part after a retriable error (retried until it succeeds). */
  retryBackoff?: Partial<BackoffPolicy>;
  /** As the plain producer's: how long a topic's partition count is used before it is looked up again (in the background). */
  metadataMaxAgeMs?: number;
}

const WAL_PRODUCER_KEYS: OptionKeys<WalProducerOptions> = { wal: true, retryBackoff: true, metadataMaxAgeMs: true };
const WAL_KEYS: OptionKeys<WalOptions> = { ...FILE_BUFFER_KEYS, afterAck: true };

export interface WalSendResult {
  readonly topic: string;
  /** Chosen at send() time and stored in the WAL with the record. */
  readonly partition: number;
}

export interface WalProducerEvents {
  /** A WAL batch is in the log (every part written or poisoned) and committed. */
  sent: (walBatch: number, parts: readonly SentPart[]) => void;
  /** A part failed with a retriable error and is resent after `delayMs`. */
  retrying: (report: RetryReport) => void;
  /** A part was refused for good, set aside in `report.file`, and will not be sent again. */
  poison: (report: PoisonReport) => void;
  /** The sender stopped (WAL I/O failure, PRODUCER_FENCED, UNAUTHORIZED, ...); records stay in the WAL. */
  error: (error: BrookError) => void;
}

export interface WalProducerStats {
  /** Undefined until the WAL is open. */
  readonly wal: FileBufferStats | undefined;
  readonly producerId: bigint | undefined;
  readonly sentBatches: number;
  readonly sentRecords: number;
  /** Parts the broker already had (resends after a crash or a lost answer). */
  readonly duplicateParts: number;
  readonly retries: number;
  readonly poisonedParts: number;
  readonly poisonedRecords: number;
}

interface Opened {
  readonly buffer: FileBuffer;
  readonly sender: WalSender;
  readonly running: Promise<void>;
}

type Counters = { -readonly [K in Exclude<keyof WalProducerStats, 'wal' | 'producerId'>]: number };

const noop = (): void => undefined;

export class WalProducer extends EventEmitter<WalProducerEvents> {
  private readonly partitioner: Partitioner;
  private readonly opened: Promise<Opened>;
  /** Sends in call order up to the moment their puts are issued. */
  private admission: Promise<void> = Promise.resolve();
  /** Settles once the newest send's put did: the WAL admits puts in order, so every earlier one is in a batch by then. */
  private newestPut: Promise<void> = Promise.resolve();
  /** Resolves with the sender's failure, if it stops: a put waiting for room would wait for ever. */
  private readonly senderFailed: Promise<BrookError>;
  private markSenderFailed!: (error: BrookError) => void;
  private readonly commitWaiters = new Set<{ through: number; resolve: () => void; reject: (error: unknown) => void }>();
  private readonly counters: Counters = { sentBatches: 0, sentRecords: 0, duplicateParts: 0, retries: 0, poisonedParts: 0, poisonedRecords: 0 };
  private openedNow: Opened | undefined;
  private failure: BrookError | undefined;
  private closing: Promise<void> | undefined;
  /** Resolved by close(): cuts a partition lookup short, which would otherwise hold close() up. */
  private readonly closed: Promise<BrookError>;
  private markClosed!: (error: BrookError) => void;
  private readonly bufferOptions: FileBufferOptions;
  private readonly afterAck: WalOptions['afterAck'];
  /** The retry rule of the partition lookup and of the sender's produce requests. */
  private readonly retry: TransmitContext;
  private readonly metadataMaxAgeMs: number;

  /** Throws INVALID_CONFIG for an unknown or bad option (the plain producer's lingerMs too: it has no meaning here). */
  constructor(
    connection: Connection,
    private readonly topics: TopicPartitions,
    options: WalProducerOptions,
    private readonly clock: Clock,
    random: Random,
    private readonly onClose: (producer: WalProducer) => void,
  ) {
    super();
    this.partitioner = new Partitioner(random, topics);
    checkOptionKeys(options, WAL_PRODUCER_KEYS);
    checkOptionKeys(options.wal, WAL_KEYS, 'wal');
    const { afterAck, ...bufferOptions } = options.wal;
    this.bufferOptions = bufferOptions;
    this.afterAck = afterAck;
    this.retry = { connection, clock, random, retryBackoff: resolveRetryBackoff(options.retryBackoff) };
    this.metadataMaxAgeMs = resolveMetadataMaxAge(options.metadataMaxAgeMs);
    checkAgainstServer(bufferOptions, connection);
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    this.senderFailed = new Promise((resolve) => (this.markSenderFailed = resolve));
    this.opened = this.open();
    this.opened.catch(noop); // reported by ready(), send() and flush()
  }

  /** Resolves once the WAL is open (recovered, locked); rejects with why it could not open (LOCKED, ...). */
  async ready(): Promise<void> {
    await this.opened;
  }

  /**
   * Puts records for `topic` into the WAL; resolves once they are persisted there (per the WAL's
   * fsync policy) with each record's partition. Rejects with INVALID_REQUEST, UNKNOWN_PARTITION,
   * MESSAGE_TOO_LARGE (a record over the WAL's maxBytes, or one that alone would make a batch over
   * a discard 'new' topic's retention.maxBytes, `details.record` its index; or the whole send over
   * the WAL's walBytesMax), BUFFER_FULL (onFull 'reject' and the send does not fit whole),
   * CLOSED, or the WAL's IO_ERROR. The WAL admits a send all or nothing, so every refusal but
   * IO_ERROR puts none of its records into the WAL, and a retried BUFFER_FULL send duplicates
   * nothing.
   * The first send to a topic asks the broker for its partition count, retried like a produce
   * request until answered (a dropped connection delays the send, it does not fail it) or refused
   * for good (UNKNOWN_TOPIC, the connection closed for good); close() ends the wait with CLOSED.
   * Sends after it wait their turn, as sends are put into the WAL in call order.
   */
  send(topic: string, records: readonly ProducerRecord[]): Promise<WalSendResult[]> {
    if (this.closing) return Promise.reject(new BrookError('CLOSED', 'the producer is closed'));
    let send: SendInputs;
    try {
      checkSendArguments(topic, records);
      send = toSendInputs(records, this.clock.now(), this.retry.connection.serverLimits);
    } catch (error) {
      return Promise.reject(error);
    }
    const issued = this.admission.then(() => this.issue(topic, send));
    this.admission = issued.then(noop, noop);
    return issued.then(async ({ put, partitions }) => {
      await put;
      return partitions.map((partition) => ({ topic, partition }));
    });
  }

  /** One record: `send(topic, [record])`. */
  async put(topic: string, record: ProducerRecord): Promise<WalSendResult> {
    const [result] = await this.send(topic, [record]);
    return result!;
  }

  /**
   * The newest record still in the WAL (not yet committed), with its destination: where a
   * source resumes after a crash, together with what the topic already holds.
   */
  async newestUnsent(): Promise<{ topic: string; partition: number; record: RecordInput } | undefined> {
    const { buffer } = await this.opened;
    const newest = buffer.newestRecord();
    if (newest === undefined) return undefined;
    const [{ topic, partition, records }] = groupByRoute([newest]) as [RoutedGroup];
    return { topic, partition, record: records[0]! };
  }

  /**
   * Seals the open WAL batch and resolves once everything sent so far is in the broker's log,
   * a send still waiting for WAL room (onFull 'wait') included: it is in no batch until earlier
   * batches are committed, so it is waited for first.
   */
  async flush(): Promise<void> {
    await this.admission;
    const { buffer } = await this.opened;
    await Promise.race([this.newestPut, this.senderFailed]);
    await buffer.flush();
    const through = buffer.stats.nextBatchSequence - 1;
    if (buffer.stats.committedThrough >= through) return;
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => this.commitWaiters.add({ through, resolve, reject }));
  }

  /**
   * Stops the sender (a part in flight is abandoned: the WAL resends it next time) and closes the
   * WAL. Does not wait for the broker: what is not yet sent stays in the WAL for the next open;
   * call flush() first to deliver it now.
   */
  close(): Promise<void> {
    this.markClosed(new BrookError('CLOSED', 'the producer is closed'));
    this.closing ??= this.shutDown().finally(() => this.onClose(this));
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  get stats(): WalProducerStats {
    return { ...this.counters, wal: this.openedNow?.buffer.stats, producerId: this.openedNow?.sender.producerId };
  }

  private async open(): Promise<Opened> {
    const fs = this.bufferOptions.fs ?? new NodeFileSystem();
    const buffer = await FileBuffer.open({ ...this.bufferOptions, fs, clock: this.bufferOptions.clock ?? this.clock });
    let state;
    try {
      state = await loadState(fs, this.bufferOptions.dir);
      checkNumbering(buffer, state, this.bufferOptions.dir);
    } catch (error) {
      await buffer.close();
      throw error;
    }
    const sender = new WalSender({
      ...this.retry,
      fs, dir: this.bufferOptions.dir, buffer, afterAck: this.afterAck, sealedBeforeOpen: buffer.recovery.nextBatchSequence,
      retrying: (report) => {
        this.counters.retries += 1;
        this.emit('retrying', report);
      },
      poisoned: (report) => {
        this.counters.poisonedParts += 1;
        this.counters.poisonedRecords += report.records.length;
        this.emit('poison', report);
      },
      committed: (batch, parts) => this.committed(buffer, batch, parts),
      partitionCountStale: (topic) => this.topics.forget(topic),
    }, state);
    const running = sender.run().catch((error: unknown) => this.stopped(error));
    this.openedNow = { buffer, sender, running };
    return this.openedNow;
  }

  private async issue(topic: string, send: SendInputs): Promise<{ put: Promise<void>; partitions: number[] }> {
    const { buffer } = await this.opened;
    const partitionCount = this.topics.current(topic, this.metadataMaxAgeMs, this.retry.retryBackoff)
      ?? await this.topics.loadRetrying(topic, this.retry, this.closed);
    // A discard 'new' topic refuses a batch over its maxBytes for good, and the whole part with
    // it: a record that could never fit is refused here, with its send, before it can take the
    // records sent beside it into a poison file.
    const cap = this.topics.batchBytesCap(topic);
    if (cap !== undefined) recordSizesWithin(send.inputs, cap - BATCH_HEADER_BYTES);
    const partitions = this.partitioner.partitionsFor(topic, partitionCount, send);
    // All or nothing (putAll), as the plain producer: a caller may retry a refused send whole.
    const put = buffer.putAll(send.inputs.map((input, position) => routed(input, topic, partitions[position]!)));
    this.newestPut = put.catch(noop); // the send reports a refusal, once admission has moved on
    return { put, partitions };
  }

  private committed(buffer: FileBuffer, walBatch: WalBatch, parts: readonly SentPart[] | undefined): void {
    if (parts) {
      this.counters.sentBatches += 1;
      for (const part of parts) {
        this.counters.sentRecords += part.records;
        if (part.duplicate) this.counters.duplicateParts += 1;
      }
      this.emit('sent', walBatch.sequence, parts);
    }
    const committedThrough = buffer.stats.committedThrough;
    for (const waiter of this.commitWaiters) {
      if (waiter.through > committedThrough) continue;
      this.commitWaiters.delete(waiter);
      waiter.resolve();
    }
  }

  private stopped(error: unknown): void {
    this.failure = error instanceof BrookError ? error : new BrookError('IO_ERROR', String(error), {}, { cause: error });
    this.rejectWaiters(this.failure);
    this.markSenderFailed(this.failure);
    this.emit('error', this.failure);
  }

  private rejectWaiters(error: BrookError): void {
    for (const waiter of this.commitWaiters) waiter.reject(error);
    this.commitWaiters.clear();
  }

  private async shutDown(): Promise<void> {
    await this.admission;
    const opened = await this.opened.catch(() => undefined);
    this.rejectWaiters(new BrookError('CLOSED', 'the producer is closed'));
    if (!opened) return;
    opened.sender.stop();
    await opened.running;
    await opened.buffer.close();
  }
}

/**
 * The WAL's next batch must lie past every batch the state file counts as in the log: the sender
 * commits a batch at or below `committedWalBatch` without sending it, so a WAL whose numbering
 * went back (segments deleted or replaced, producer.json from another directory) would drop new
 * records silently. The WAL cannot fall behind on its own: a batch's SEAL is fsynced before it is
 * sent, and a new segment's header carries the numbering on.
 */
function checkNumbering(buffer: FileBuffer, state: WalProducerState, dir: string): void {
  // As recovery found it: a batch sealed at open (maxAgeMs 0) would hide a numbering one behind.
  const { nextBatchSequence } = buffer.recovery;
  if (nextBatchSequence > state.committedWalBatch) return;
  const file = `${dir}/${STATE_FILE}`;
  throw new BrookError('CORRUPT_METADATA', `${file} counts WAL batches up to ${state.committedWalBatch} as sent, but the WAL's next batch is ${nextBatchSequence}: `
    + `its segments were lost or replaced. Forgetting the producer id (forgetWalProducerId, brook wal forget-producer-id) resends what the WAL holds under a new one`, {
    file, committedWalBatch: state.committedWalBatch, nextBatchSequence,
  });
}

/** A WAL batch must fit one produce request whole, or a resend after a crash could be cut differently. */
function checkAgainstServer(options: FileBufferOptions, connection: Connection): void {
  const resolved = resolveOptions(options, 'wal');
  const server = connection.serverLimits;
  if (resolved.maxRecords > server.batchRecordsMax) throw invalid('wal.maxRecords', resolved.maxRecords, `at most the server's batchRecordsMax ${server.batchRecordsMax}`);
  const bytesMax = server.frameBytesMax - FRAME_OVERHEAD_BYTES;
  if (resolved.maxBytes > bytesMax) throw invalid('wal.maxBytes', resolved.maxBytes, `at most the server's frameBytesMax less ${FRAME_OVERHEAD_BYTES} (${bytesMax})`);
  // A record's WAL frame is larger than its part of a RecordBatch, so a WAL batch within the
  // broker's batchBytesMax makes a produce batch within it (but for a lone record at the edge).
  if (resolved.maxBytes > server.batchBytesMax) throw invalid('wal.maxBytes', resolved.maxBytes, `at most the server's batchBytesMax ${server.batchBytesMax}`);
}
