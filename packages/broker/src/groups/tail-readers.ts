/**
 * The broker's tail readers (subscriptions without a group, tail-reader.ts): each gets an id
 * (`reader-1`, `reader-2`, ... unique while the broker is open) that names it in events and is
 * its subscription's memberId; the coordinator tells them of new records, retention, a deleted
 * topic and the broker's close.
 */
import type { BrookError } from '@brook/protocol';
import type { BrokerEventEmitter } from '../events.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { DeliverySink } from './member.js';
import { TailReader } from './tail-reader.js';
import type { StepRetryDeps } from './step-retry.js';

export class TailReaders {
  private readonly readers = new Set<TailReader>();
  private lastId = 0;

  constructor(private readonly deps: StepRetryDeps & { readonly fetchBytes: number; readonly events: BrokerEventEmitter }) {}

  /** A reader of `topic` from `offsets` on, reading at once. */
  add(topic: string, logs: readonly PartitionLog[], offsets: bigint[], maxInFlight: number, sink: DeliverySink): TailReader {
    const limits = { maxInFlight, fetchBytes: this.deps.fetchBytes };
    const reader = new TailReader(`reader-${++this.lastId}`, topic, logs, offsets, limits, sink, this.deps.events, this.deps);
    this.readers.add(reader);
    reader.schedulePump();
    return reader;
  }

  /** It reads no further and is told nothing more. */
  leave(reader: TailReader): void {
    reader.close();
    this.readers.delete(reader);
  }

  /**
   * For `reader`'s subscription handle (subscriptionHandle's endsItself): once its reads fail for
   * good (TailReader.step) it leaves, and its subscription ends with the failure.
   */
  endingOf(reader: TailReader): (endByBroker: (error: BrookError) => void) => void {
    return (endByBroker) => reader.endsWith((error) => {
      this.leave(reader);
      endByBroker(error);
    });
  }

  ofTopic(topic: string): TailReader[] {
    return [...this.readers].filter((reader) => reader.topic === topic);
  }

  /** The broker closes: every reader stops. */
  closeAll(): void {
    for (const reader of this.readers) reader.close();
  }
}
