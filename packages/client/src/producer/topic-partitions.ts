/**
 * Partition counts per topic, from describeTopic, cached: the partitioner needs them for keyed
 * records (murmur2 modulo the count) and round-robin. Sends to one topic wait on one lookup.
 *
 * A count is trusted for a producer's metadataMaxAgeMs after it was looked up (Kafka's
 * metadata.max.age.ms), then looked up again: a topic deleted and created again with more
 * partitions tells a producer nothing while the old partitions still take its records (only an
 * idempotent one hears of it, from UNKNOWN_PRODUCER_ID), so without the refresh its keys would
 * go by the old count for ever.
 *
 * The same answer tells a topic with `discard: 'new'`: the broker refuses a batch over its
 * retention.maxBytes for good (MESSAGE_TOO_LARGE), so the producer must not merge sends that
 * each fit into a batch that does not.
 */
import type { BrookError, WireTopicDescription } from '@brook/protocol';
import type { Connection } from '../connection.js';
import { deliveryTimeout, readyToRetry, toBrookError, type TransmitContext } from './transmit.js';

export class TopicPartitions {
  private readonly counts = new Map<string, { readonly count: number; readonly lookedUpAtMs: number }>();
  /** The largest batch a `discard: 'new'` topic can ever take: its retention.maxBytes. */
  private readonly batchBytesCaps = new Map<string, number>();
  private readonly loading = new Map<string, Promise<number>>();

  constructor(private readonly connection: Connection) {}

  /**
   * The count a WAL put routes by. A first lookup is retried until answered (loadRetrying: the put
   * waits for it, docs/wal.md's weak points). A count `maxAgeMs` old is looked up again while the
   * connection is up, and used as it is while it is down or when that lookup fails retriably: a
   * refresh must not hold a put, and every put behind it, until a reconnect, since keeping puts
   * coming while the broker is unreachable is what the WAL is for. Kafka's producer too routes by
   * the metadata it has while a refresh cannot be had.
   */
  async forPut(topic: string, maxAgeMs: number, context: TransmitContext, stop: Promise<BrookError>): Promise<number> {
    const fresh = this.cached(topic, maxAgeMs);
    if (fresh !== undefined) return fresh;
    const old = this.counts.get(topic)?.count;
    if (old === undefined) return this.loadRetrying(topic, context, stop);
    if (!this.connection.isOpen) return old;
    try {
      return await Promise.race([this.load(topic), stop.then((error) => Promise.reject(error))]);
    } catch (error) {
      const failure = toBrookError(error);
      if (failure.retriable) return old;
      throw failure;
    }
  }

  /** The count, if it was looked up less than `maxAgeMs` ago (by the connection's clock). */
  cached(topic: string, maxAgeMs: number): number | undefined {
    const entry = this.counts.get(topic);
    if (!entry || this.connection.clock.now() - entry.lookedUpAtMs >= maxAgeMs) return undefined;
    return entry.count;
  }

  load(topic: string): Promise<number> {
    let loading = this.loading.get(topic);
    if (!loading) {
      loading = this.connection.request('describeTopic', { name: topic }).then(
        ({ json }) => {
          this.loading.delete(topic);
          this.counts.set(topic, { count: json.partitions.length, lookedUpAtMs: this.connection.clock.now() });
          // `settings` is absent from the answer of a broker from before describeTopic showed them.
          const retention = (json.settings as WireTopicDescription['settings'] | undefined)?.retention;
          if (retention?.discard === 'new' && retention.maxBytes !== undefined) this.batchBytesCaps.set(topic, retention.maxBytes);
          else this.batchBytesCaps.delete(topic);
          return json.partitions.length;
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
  }
}
