/**
 * The producer: `send(topic, records)` resolves with each record's { partition, offset } once
 * the broker has persisted it per its fsync policy.
 *
 * Partitioning: partitioner.ts (explicit, murmur2 of the key, or round-robin per record).
 *
 * Batching: records go into a batch per partition; a partition with nothing in flight sends its
 * batch after lingerMs (0: at the end of the current tick; a full batch at once), otherwise when
 * the batch in flight returns. See partition-lane.ts for why one batch per partition is in flight, and how retries
 * keep idempotence (exactly once per record, even across reconnects).
 *
 * The first send to a topic waits for the topic's partition count (describeTopic), retried like
 * a produce request: a dropped connection delays the send rather than failing it. Once the count
 * is metadataMaxAgeMs old it is looked up again in the background: later sends go by the count
 * they have until the answer comes (topic-partitions.ts, `current`).
 *
 * Backpressure: record bytes in unfinished batches are bounded by bufferBytesMax. A send that
 * would pass the bound parks until earlier batches finish; parked sends are admitted in call
 * order, so a later send never overtakes a parked one (per-key order holds).
 *
 * Delivery timeout: a send fails with TIMEOUT unless persisted within deliveryTimeoutMs of its
 * call, everything included (Kafka's delivery.timeout.ms is a total bound too). The lookup stops
 * at that deadline, and a batch fails at the earliest deadline of the sends in it. That can cut
 * a later send in the same batch short, but hardly ever: sends join a partition's batches in
 * call order (a parked send first waits for everything before it), so the batch's first send
 * has the earliest deadline anyway. For the same reason a parked send needs no timer of its own:
 * it waits only for batches due no later than itself, so it is admitted by its deadline, and its
 * batch fails at that deadline (at once if it has passed).
 */
import {
  BATCH_HEADER_BYTES, BrookError, assert, FRAME_HEADER_BYTES, INCARNATION_LENGTH_MAX, TOPIC_NAME_LENGTH_MAX, checkOptionKeys, checkSignalOption, stableJson, type Clock, type OptionKeys, type Random, type Timer,
} from '@brook/protocol';
import type { Connection } from '../connection.js';
import type { ResolvedProducerOptions } from '../options.js';
import { checkSendArguments, toSendInputs, type ProducerRecord, type SendInputs } from '../values.js';
import { recordSizesWithin, type Batch } from './batch.js';
import { Partitioner } from './partitioner.js';
import { PartitionLane, type BatchLimits, type LaneContext } from './partition-lane.js';
import { ProducerIdentities } from './producer-identities.js';
import { SendTicket, type ProduceResult } from './send-ticket.js';
import type { TopicPartitions } from './topic-partitions.js';
import { nextTurn } from '../next-turn.js';

export interface SendOptions {
  /**
   * Aborting rejects the send with the signal's reason. Records already handed to a batch may
   * still be written: abort stops the waiting, it cannot recall bytes on their way.
   */
  signal?: AbortSignal;
}

const SEND_KEYS: OptionKeys<SendOptions> = { signal: true };

/**
 * Room a produce frame needs beside its batch: the frame header and the request's JSON for the
 * longest topic name, partition number and incarnation. Exact rather than a round number: a
 * server may set frameBytesMax as low as 1 KiB and must still take a small batch.
 */
export const FRAME_OVERHEAD_BYTES = FRAME_HEADER_BYTES + stableJson({ incarnation: '', op: 'produce', partition: 2 ** 31 - 1, topic: '' }).length
  + TOPIC_NAME_LENGTH_MAX + INCARNATION_LENGTH_MAX;

export class Producer {
  private readonly lanes = new Map<string, PartitionLane[]>();
  private readonly pending = new Set<Batch>();
  /**
   * Per topic, the last send waiting for the topic's partition count: settles once it and every
   * earlier send to the topic are enqueued or failed. flush() and close() wait for them.
   */
  private readonly lookups = new Map<string, Promise<void>>();
  /** Sends not yet settled: what flush() waits for. */
  private readonly unsettled = new Set<SendTicket>();
  private readonly partitioner: Partitioner;
  /** Sends over the buffer bound, in call order, waiting for bytes to free. */
  private readonly parked: { bytes: number; ticket: SendTicket; admit: () => void }[] = [];
  private bufferedBytes = 0;
  private readonly context: LaneContext;
  private releaseScheduled = false;
  /** The lingerMs timer, cancelled when a flush releases early: it would keep the process alive for nothing. */
  private lingerTimer: Timer | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly topics: TopicPartitions,
    private readonly options: ResolvedProducerOptions,
    clock: Clock,
    random: Random,
    private readonly onClose: (producer: Producer) => void,
  ) {
    this.partitioner = new Partitioner(random, topics);
    this.context = {
      connection, clock, random, options, pending: this.pending, retryBackoff: options.retryBackoff,
      batchSettled: (batch) => this.batchSettled(batch),
      identities: options.idempotent ? new ProducerIdentities(connection) : undefined,
      partitionCountStale: (topic) => topics.forget(topic),
    };
  }

  /**
   * Sends records to `topic`; resolves, in input order, with each record's partition and offset
   * once persisted. Rejects with a BrookError: INVALID_REQUEST for a bad record (nothing sent),
   * UNKNOWN_TOPIC, MESSAGE_TOO_LARGE, TIMEOUT when not persisted within deliveryTimeoutMs of
   * this call (lookup, waiting for buffer room and retries included), CLOSED, ...
   */
  send(topic: string, records: readonly ProducerRecord[], options: SendOptions = {}): Promise<ProduceResult[]> {
    if (this.closing) return Promise.reject(new BrookError('CLOSED', 'the producer is closed'));
    const nowMs = this.context.clock.now();
    let send: SendInputs;
    try {
      checkOptionKeys(options, SEND_KEYS);
      checkSignalOption(options.signal);
      checkSendArguments(topic, records);
      send = toSendInputs(records, nowMs, this.connection.serverLimits);
    } catch (error) {
      return Promise.reject(error);
    }
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    // One deadline for the whole send: the lookup and every batch holding its records share it.
    // On the monotonic reading: a step of the wall clock must neither stretch nor end a duration.
    const deadlineMs = this.context.clock.monotonicMs() + this.options.deliveryTimeoutMs;
    return new Promise<ProduceResult[]>((resolve, reject) => {
      const settle = <T>(then: (outcome: T) => void) => (outcome: T): void => {
        this.unsettled.delete(ticket);
        then(outcome);
      };
      const ticket = options.signal
        ? abortableTicket(records.length, settle(resolve), settle(reject), options.signal)
        : new SendTicket(records.length, settle(resolve), settle(reject));
      this.unsettled.add(ticket);
      const partitionCount = this.topics.current(topic, this.options.metadataMaxAgeMs, this.options.retryBackoff);
      try {
        if (partitionCount === undefined || this.lookups.has(topic)) this.enqueueWhenCounted(topic, partitionCount, send, ticket, deadlineMs);
        else this.enqueue(topic, partitionCount, send, ticket, deadlineMs);
      } catch (error) {
        ticket.fail(error); // MESSAGE_TOO_LARGE, UNKNOWN_PARTITION: through the ticket, so flush() sees it settled
      }
    });
  }

  /**
   * Sends everything collected now and resolves once every send made before the call has
   * settled (sends made meanwhile are not waited for: under a steady stream of sends, flush
   * would never end).
   */
  async flush(): Promise<void> {
    const sends = [...this.unsettled];
    // Each settles once the sends before it to its topic are in batches (or failed).
    await Promise.all([...this.lookups.values()]);
    while (!sends.every((ticket) => ticket.settled)) {
      this.releaseAll();
      assert(this.pending.size > 0, 'a send is unsettled with no batch to wait for');
      // Parked sends enter batches as these finish; the loop then sends those too.
      await Promise.race([...this.pending].map((batch) => batch.settled));
    }
  }

  /** Refuses further sends (CLOSED), then flushes; every call resolves once that flush is done. */
  close(): Promise<void> {
    this.closing ??= this.flush().finally(() => this.onClose(this));
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Enqueues the send once its topic's partition count is known (looked up unless `cached`), and
   * after every earlier send to the topic still waiting for it, even if its own count comes first
   * (an earlier lookup may be backing off after a failed try): per-key order holds across sends,
   * as for parked sends.
   */
  private enqueueWhenCounted(topic: string, cached: number | undefined, send: SendInputs, ticket: SendTicket, deadlineMs: number): void {
    const earlier = this.lookups.get(topic);
    const enqueued = Promise.all([cached ?? this.lookUpPartitions(topic, deadlineMs), earlier])
      .then(([count]) => this.enqueue(topic, count, send, ticket, deadlineMs))
      .catch((error: unknown) => ticket.fail(error));
    const inTurn: Promise<void> = Promise.all([enqueued, earlier]).then(() => {
      if (this.lookups.get(topic) === inTurn) this.lookups.delete(topic);
    });
    this.lookups.set(topic, inTurn);
  }

  /** The topic's partition count, the lookup part of delivering the records: TIMEOUT at the send's deadline. */
  private async lookUpPartitions(topic: string, deadlineMs: number): Promise<number> {
    const timeoutMs = this.options.deliveryTimeoutMs;
    let timer: Timer | undefined;
    const expired = new Promise<BrookError>((resolve) => {
      timer = this.context.clock.setTimer(deadlineMs - this.context.clock.monotonicMs(), () => {
        resolve(new BrookError('TIMEOUT', `partition count of ${topic} not known within deliveryTimeoutMs ${timeoutMs}`, { topic, deliveryTimeoutMs: timeoutMs }));
      });
    });
    try {
      return await this.topics.loadRetrying(topic, this.context, expired);
    } finally {
      timer?.cancel();
    }
  }

  private enqueue(topic: string, partitionCount: number, send: SendInputs, ticket: SendTicket, deadlineMs: number): void {
    const limits = this.batchLimits(topic);
    const { inputs } = send;
    const sizes = recordSizesWithin(inputs, limits.bytes);
    const bytes = sizes.reduce((sum, size) => sum + size, 0);
    const bufferBytesMax = this.options.bufferBytesMax;
    if (bytes > bufferBytesMax) {
      throw new BrookError('MESSAGE_TOO_LARGE', `send of up to ${bytes} bytes is over bufferBytesMax ${bufferBytesMax}`, { bytes, limit: bufferBytesMax });
    }
    const partitions = this.partitioner.partitionsFor(topic, partitionCount, send);
    const admit = (): void => {
      if (ticket.settled) return; // aborted while parked
      this.bufferedBytes += bytes;
      const lanes = this.lanesOf(topic, partitionCount);
      for (let position = 0; position < inputs.length; position++) {
        lanes[partitions[position]!]!.add(inputs[position]!, sizes[position]!, ticket, position, deadlineMs, limits);
      }
      this.scheduleRelease();
    };
    if (this.parked.length === 0 && this.bufferedBytes + bytes <= bufferBytesMax) admit();
    else this.parked.push({ bytes, ticket, admit });
  }

  private batchSettled(batch: Batch): void {
    this.pending.delete(batch);
    this.bufferedBytes -= batch.sizeBytes;
    for (let next = this.parked[0]; next; next = this.parked[0]) {
      // An aborted send gives its place up at once; the rest wait for room in order.
      if (!next.ticket.settled && this.bufferedBytes + next.bytes > this.options.bufferBytesMax) return;
      this.parked.shift();
      next.admit();
    }
  }

  private lanesOf(topic: string, partitionCount: number): PartitionLane[] {
    let lanes = this.lanes.get(topic);
    if (!lanes || lanes.length !== partitionCount) {
      const existing = lanes ?? [];
      // The topic has fewer partitions now: no release reaches a lane taken out of the map, so
      // its lingering records go now (the broker refuses them UNKNOWN_PARTITION), or they would
      // wait for deliveryTimeoutMs, and flush() with them. One sending goes on by itself.
      for (const lane of existing.slice(partitionCount)) lane.release();
      lanes = Array.from({ length: partitionCount }, (_, partition) => existing[partition] ?? new PartitionLane(this.context, topic, partition));
      this.lanes.set(topic, lanes);
    }
    return lanes;
  }

  private batchLimits(topic: string): BatchLimits {
    const server = this.connection.serverLimits;
    // A discard 'new' topic refuses a batch over its maxBytes for good: sends that fit it one by one must not be merged past it.
    const topicBytesMax = (this.topics.batchBytesCap(topic) ?? Infinity) - BATCH_HEADER_BYTES;
    return {
      records: Math.min(this.options.batchRecordsMax, server.batchRecordsMax),
      // Record sizes are counted without the batch header, so its bytes come off the broker's
      // batchBytesMax and off the frame's room.
      bytes: Math.min(this.options.batchBytesMax, server.batchBytesMax - BATCH_HEADER_BYTES, server.frameBytesMax - FRAME_OVERHEAD_BYTES - BATCH_HEADER_BYTES, topicBytesMax),
    };
  }

  private scheduleRelease(): void {
    if (this.releaseScheduled) return;
    this.releaseScheduled = true;
    if (this.options.lingerMs === 0) nextTurn(() => this.releaseAll());
    else this.lingerTimer = this.context.clock.setTimer(this.options.lingerMs, () => this.releaseAll());
  }

  private releaseAll(): void {
    this.releaseScheduled = false;
    this.lingerTimer?.cancel();
    this.lingerTimer = undefined;
    for (const lanes of this.lanes.values()) for (const lane of lanes) lane.release();
  }
}

/** A ticket that also settles (rejects) when `signal` aborts, and stops listening once settled. */
function abortableTicket(recordCount: number, resolve: (results: ProduceResult[]) => void, reject: (error: unknown) => void, signal: AbortSignal): SendTicket {
  const onAbort = (): void => ticket.fail(signal.reason);
  const ticket = new SendTicket(
    recordCount,
    (results) => {
      signal.removeEventListener('abort', onAbort);
      resolve(results);
    },
    (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    },
  );
  signal.addEventListener('abort', onAbort, { once: true });
  return ticket;
}
