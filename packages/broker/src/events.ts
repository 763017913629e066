/**
 * The broker's typed events: every state change of the delivery engine, for traces, demos, the
 * testing kit and metrics. Payloads are plain data. Emitting is free when nobody listens: every
 * emit site asks `wants(name)` before building its payload.
 */
import { EventEmitter } from 'eventemitter3';

export type RedeliveryReason = 'nack' | 'leaseExpired' | 'memberLeft' | 'rebalance' | 'goBack';

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
  nacked: (event: GroupRecordRef & { delayMs: number | undefined }) => void;
  leaseExpired: (event: GroupRecordRef) => void;
  /** A record will be delivered again: `delayMs` is its backoff (0: at once). */
  redelivered: (event: RecordRef & { group: string; reason: RedeliveryReason; nextDeliveryCount: number; delayMs: number }) => void;
  deadLettered: (event: RecordRef & { group: string; deliveryCount: number; reason: string; deadLetterTopic: string; deadLetterOffset: bigint }) => void;
  /** 'partition' ordering: which member owns which partitions now. */
  rebalanced: (event: { topic: string; group: string; assignment: Record<string, number[]> }) => void;
  /** Retention deleted segments; with a group, that group lost `lostRecords` it had not acked. */
  retentionDropped: (event: { topic: string; partition: number; startOffset: bigint; group?: string; lostRecords: bigint }) => void;
}

export type BrokerEventName = keyof BrokerEvents;

export class BrokerEventEmitter extends EventEmitter<BrokerEvents> {
  wants(name: BrokerEventName): boolean {
    return this.listenerCount(name) > 0;
  }
}
