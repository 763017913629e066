/**
 * The broker's typed events: every state change of the delivery engine, for traces, demos, the
 * testing kit and metrics. Payloads are plain data. Emitting is free when nobody listens: every
 * emit site asks `wants(name)` before building its payload.
 */
import { EventEmitter } from 'eventemitter3';
import type { ErrorCode } from '@brook/protocol';

export type RedeliveryReason = 'nack' | 'leaseExpired' | 'memberLeft' | 'rebalance' | 'goBack' | 'unsent';

/**
 * What moved a 'partition' group's partitions: a member joined, began to close, left (closed,
 * crashed, its connection dropped), let a lease run out, or settled something after that.
 */
export type RebalanceReason = 'memberJoined' | 'memberClosing' | 'memberLeft' | 'leaseLost' | 'leaseRegained';

interface RecordRef {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

interface GroupRecordRef extends RecordRef {
  readonly group: string;
  readonly member: string;
  readonly deliveryCount: number;
}

export interface BrokerEvents {
  produced: (event: { topic: string; partition: number; baseOffset: bigint; lastOffset: bigint; records: number }) => void;
  delivered: (event: GroupRecordRef & { redelivered: boolean; key: Uint8Array | null }) => void;
  acked: (event: GroupRecordRef) => void;
  nacked: (event: GroupRecordRef & { delayMs: number | undefined; reason?: string }) => void;
  leaseExpired: (event: GroupRecordRef) => void;
  /**
   * A record will be delivered again: `delayMs` is its backoff (0: at once). 'unsent': a delivery
   * announced by `delivered` was taken back before it reached its consumer (held behind a
   * congested connection, or waiting unread in a consume() loop): no attempt, so
   * `nextDeliveryCount` repeats its deliveryCount, and no `leaseExpired` comes before it.
   */
  redelivered: (event: RecordRef & { group: string; reason: RedeliveryReason; nextDeliveryCount: number; delayMs: number }) => void;
  deadLettered: (event: RecordRef & { group: string; deliveryCount: number; reason: string; deadLetterTopic: string; deadLetterOffset: bigint }) => void;
  /**
   * 'partition' ordering: which member owns which partitions now, and why they moved: `member`
   * is the member whose join, close, leave, lease loss or return (`reason`) caused it.
   */
  rebalanced: (event: { topic: string; group: string; assignment: Record<string, number[]>; reason: RebalanceReason; member: string }) => void;
  /**
   * Retention deleted segments: once for the partition (neither `group` nor `reader`:
   * `lostRecords` it deleted), then once per group that lost `lostRecords` it had not acked
   * (`group`), and once per tail reader that lost `lostRecords` it had not handed out yet
   * (`reader`: its id, the subscription's memberId). A group or reader that reads on into the
   * deleted records while the pass is still deleting their files learns of it then, and is told
   * before the partition's own event (still once).
   */
  retentionDropped: (event: { topic: string; partition: number; startOffset: bigint; group?: string; reader?: string; lostRecords: bigint }) => void;
  /**
   * resetGroup: the group continues at `offsets[partition]`. Emitted when the new positions apply
   * (its deliveries held become stale then), before the journal write resetGroup resolves after.
   */
  groupReset: (event: { topic: string; group: string; offsets: bigint[] }) => void;
  /**
   * The group and its progress are gone for good: deleteGroup passed its commit point (config.json
   * removed), or deleteTopic passed its own (topic.json removed), one event per group of the
   * topic, redrive's included, once that group has ended (then topicDeleted). A group's last event.
   */
  groupDeleted: (event: { topic: string; group: string }) => void;
  /**
   * A topic was made: by createTopic, or on demand as a group's dead-letter topic (with the
   * default settings). Not for the topics a broker finds at open.
   */
  topicCreated: (event: { topic: string; partitions: number }) => void;
  /**
   * A topic is gone for good: deleteTopic passed its commit point (topic.json removed). The
   * topic's last event, after its groups' groupDeleted; it comes even if removing its files
   * failed afterwards (deleteTopic then rejects, and the next open removes them).
   */
  topicDeleted: (event: { topic: string }) => void;
  /**
   * A partition's log (`partition`) or a group's journal (`group`) failed (a failed fsync, seal or
   * torn round, the { intervalMs } timer's fsync included, which nobody waits for): it refuses
   * every write with IO_ERROR until the broker is reopened (a journal: every ack of its group).
   * Once per failure; describeTopic / describeGroup show it meanwhile, and /healthz answers 503.
   */
  logFailed: (event: { topic: string; partition?: number; group?: string; code: ErrorCode; message: string }) => void;
  /**
   * close() began (once, on the first call): every call throws CLOSED from now on, so whoever
   * waits for the broker's state to move (caughtUp) can stop waiting. Events of what the close
   * ends (subscriptions, their deliveries) may follow it.
   */
  closing: (event: { dataDir: string }) => void;
}

export type BrokerEventName = keyof BrokerEvents;

type Listener<T extends BrokerEventName> = EventEmitter.EventListener<BrokerEvents, T>;

export class BrokerEventEmitter extends EventEmitter<BrokerEvents> {
  /**
   * The events that have listeners, kept by every method that adds or removes one. `wants` runs
   * for every record, and EventEmitter's own count is a lookup in a dictionary object: a
   * megamorphic load that cost 2 % of consuming when nobody listened.
   */
  private readonly listening = new Set<BrokerEventName>();

  wants(name: BrokerEventName): boolean {
    return this.listening.size !== 0 && this.listening.has(name);
  }

  override on<T extends BrokerEventName>(event: T, fn: Listener<T>, context?: unknown): this {
    super.on(event, fn, context);
    return this.track(event);
  }

  override addListener<T extends BrokerEventName>(event: T, fn: Listener<T>, context?: unknown): this {
    super.addListener(event, fn, context);
    return this.track(event);
  }

  override once<T extends BrokerEventName>(event: T, fn: Listener<T>, context?: unknown): this {
    super.once(event, fn, context);
    return this.track(event);
  }

  override removeListener<T extends BrokerEventName>(event: T, fn?: Listener<T>, context?: unknown, once?: boolean): this {
    super.removeListener(event, fn, context, once);
    return this.track(event);
  }

  override off<T extends BrokerEventName>(event: T, fn?: Listener<T>, context?: unknown, once?: boolean): this {
    super.off(event, fn, context, once);
    return this.track(event);
  }

  override removeAllListeners(event?: BrokerEventName): this {
    super.removeAllListeners(event);
    if (event === undefined) this.listening.clear();
    else this.track(event);
    return this;
  }

  private track(event: BrokerEventName): this {
    if (this.listenerCount(event) > 0) this.listening.add(event);
    else this.listening.delete(event);
    return this;
  }
}
