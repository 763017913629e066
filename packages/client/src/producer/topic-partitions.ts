/**
 * Partition counts per topic, from describeTopic, cached: the partitioner needs them for keyed
 * records (murmur2 modulo the count) and round-robin. Sends to one topic wait on one lookup.
 *
 * A count is trusted for a producer's metadataMaxAgeMs after it was looked up (Kafka's
 * metadata.max.age.ms), then looked up again: a topic deleted and created again with more
 * partitions tells a producer nothing while the old partitions still take its records (only an
 * idempotent one hears of it, from UNKNOWN_PRODUCER_ID), so without the refresh its keys would
 * go by the old count for ever. The refresh holds up no send, as in Kafka's producer: only a
 * first send to a topic (or one after the count was forgotten) waits for a lookup (`current`).
 *
 * The same answer tells a topic with `discard: 'new'`: the broker refuses a batch over its
 * retention.maxBytes for good (MESSAGE_TOO_LARGE), so the producer must not merge sends that
 * each fit into a batch that does not.
 */
import { BrookError, type WireTopicDescription } from '@brook/protocol';
import type { Connection } from '../connection.js';
import type { BackoffPolicy } from '../options.js';
import { deliveryTimeout, readyToRetry, toBrookError, type TransmitContext } from './transmit.js';

export class TopicPartitions {
  private readonly counts = new Map<string, { readonly count: number; readonly lookedUpAtMs: number }>();
  /** The largest batch a `discard: 'new'` topic can ever take: its retention.maxBytes. */
  private readonly batchBytesCaps = new Map<string, number>();
  private readonly loading = new Map<string, Promise<number>>();
  /** Per topic, when its last background refresh failed retriably (`current`). */
  private readonly refreshFailedAtMs = new Map<string, number>();

  constructor(private readonly connection: Connection) {}

  /**
   * The count a send (or a WAL put) routes by: the one it has, whatever its age, or undefined if
   * there is none yet, and then the send waits for a lookup (loadRetrying). A count `maxAgeMs` old
   * is looked up again in the background, one lookup at a time, and its answer serves the sends
   * after it: a refresh holds up no send, while the broker is slow or unreachable too (keeping
   * puts coming then is what the WAL is for). A refresh that fails retriably is tried again by the
   * first send at least `retryBackoff.initialDelayMs` after the failure (no timer: a topic no one
   * sends to is not looked up); one refused for good (UNKNOWN_TOPIC) forgets the count, so the
   * next send looks it up as a first send does and fails with the refusal if it still holds.
   */
  current(topic: string, maxAgeMs: number, retryBackoff: Pick<BackoffPolicy, 'initialDelayMs'>): number | undefined {
    const entry = this.counts.get(topic);
    if (entry === undefined) return undefined;
    const nowMs = this.connection.clock.monotonicMs();
    const failedAtMs = this.refreshFailedAtMs.get(topic);
    const due = nowMs - entry.lookedUpAtMs >= maxAgeMs && (failedAtMs === undefined || nowMs - failedAtMs >= retryBackoff.initialDelayMs);
    if (due && !this.loading.has(topic)) this.refresh(topic);
    return entry.count;
  }

  private refresh(topic: string): void {
    this.load(topic).catch((error: unknown) => {
      if (toBrookError(error).retriable) this.refreshFailedAtMs.set(topic, this.connection.clock.monotonicMs());
      else this.forget(topic);
    });
  }

  load(topic: string): Promise<number> {
    let loading = this.loading.get(topic);
    if (!loading) {
      loading = this.connection.request('describeTopic', { name: topic }).then(
        ({ json }) => {
          this.loading.delete(topic);
          const { count, discardNewMaxBytes } = topicShape(json);
          this.refreshFailedAtMs.delete(topic);
          this.counts.set(topic, { count, lookedUpAtMs: this.connection.clock.monotonicMs() });
          if (discardNewMaxBytes !== undefined) this.batchBytesCaps.set(topic, discardNewMaxBytes);
          else this.batchBytesCaps.delete(topic);
          return count;
        },
        (error: unknown) => {
          this.loading.delete(topic);
          throw error;
        },
      );
      this.loading.set(topic, loading);
    }
    return loading;
  }

  /**
   * The count for a first send, the lookup retried as a produce request is (readyToRetry: a
   * dropped connection delays it, a retriable error backs off) until it is answered, refused for
   * good, or `stop` resolves: then it rejects with the error `stop` gave (the producer's TIMEOUT
   * or CLOSED).
   */
  async loadRetrying(topic: string, context: TransmitContext, stop: Promise<BrookError>): Promise<number> {
    let stoppedWith: BrookError | undefined;
    const stopped = stop.then((error) => void (stoppedWith = error));
    let failure: BrookError | undefined;
    for (let attempt = 0; stoppedWith === undefined; attempt++) {
      try {
        const count = await Promise.race([this.load(topic), stopped]);
        if (count !== undefined) return count;
        continue; // stopped first
      } catch (error) {
        failure = toBrookError(error);
      }
      if (!(await readyToRetry(context, failure, attempt, stopped))) throw failure;
    }
    const { code, description, details } = stoppedWith;
    throw code === 'TIMEOUT' ? deliveryTimeout(description, details, failure) : stoppedWith;
  }

  /** The largest batch the topic can ever take (its `discard: 'new'` retention.maxBytes), once looked up; else undefined. */
  batchBytesCap(topic: string): number | undefined {
    return this.batchBytesCaps.get(topic);
  }

  /** The topic was deleted (or recreated): look it up again next time. */
  forget(topic: string): void {
    this.counts.delete(topic);
    this.batchBytesCaps.delete(topic);
    this.refreshFailedAtMs.delete(topic);
  }
}

/**
 * What a producer takes from describeTopic's answer: the partition count, and the byte bound of a
 * discard-'new' topic (no batch may pass it). A broken server's answer (no partitions, or a bound
 * that is no positive integer) is INVALID_REQUEST: routed by a count of 0, a keyed send failed an
 * assertion; sized by a bound of another type, every batch failed with a TypeError.
 */
function topicShape(json: WireTopicDescription): { count: number; discardNewMaxBytes: number | undefined } {
  const partitions: unknown = json.partitions;
  if (!Array.isArray(partitions) || partitions.length < 1) throw unreadableTopic('partitions is no list of at least one partition');
  // `settings` is absent from the answer of a broker from before describeTopic showed them.
  const retention = (json.settings as WireTopicDescription['settings'] | undefined)?.retention;
  if (retention?.discard !== 'new' || retention.maxBytes === undefined) return { count: partitions.length, discardNewMaxBytes: undefined };
  if (!Number.isSafeInteger(retention.maxBytes) || retention.maxBytes < 1) throw unreadableTopic('settings.retention.maxBytes is no positive integer');
  return { count: partitions.length, discardNewMaxBytes: retention.maxBytes };
}

function unreadableTopic(reason: string): BrookError {
  return new BrookError('INVALID_REQUEST', `the server's answer to describeTopic cannot be read: ${reason}`, { op: 'describeTopic' });
}
