/**
 * Partition counts per topic, from describeTopic, cached: the partitioner needs them for keyed
 * records (murmur2 modulo the count) and round-robin. Sends to one topic wait on one lookup.
 */
import type { Connection } from '../connection.js';

export class TopicPartitions {
  private readonly counts = new Map<string, number>();
  private readonly loading = new Map<string, Promise<number>>();

  constructor(private readonly connection: Connection) {}

  cached(topic: string): number | undefined {
    return this.counts.get(topic);
  }

  load(topic: string): Promise<number> {
    let loading = this.loading.get(topic);
    if (!loading) {
      loading = this.connection.request('describeTopic', { name: topic }).then(
        ({ json }) => {
          this.loading.delete(topic);
          this.counts.set(topic, json.partitions.length);
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

  /** The topic was deleted (or recreated): look it up again next time. */
  forget(topic: string): void {
    this.counts.delete(topic);
  }
}
