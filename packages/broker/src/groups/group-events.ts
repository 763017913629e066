/**
 * What one group reports on the broker's event emitter. Every method builds its payload only
 * when someone listens to that event, so the engine's hot path pays nothing for unheard events.
 */
import type { BrokerEventEmitter, RebalanceReason, RedeliveryReason } from '../events.js';
import type { Flight } from './flight.js';
import type { Member } from './member.js';
import type { Entry, PartitionWindow } from './partition-window.js';

export class GroupEvents {
  constructor(
    private readonly events: BrokerEventEmitter,
    private readonly topic: string,
    private readonly group: string,
  ) {}

  delivered(flight: Flight): void {
    if (this.events.wants('delivered')) {
      this.events.emit('delivered', { ...this.ref(flight), redelivered: flight.deliveryCount > 1, key: flight.record.key });
    }
  }

  acked(flight: Flight): void {
    if (this.events.wants('acked')) this.events.emit('acked', this.ref(flight));
  }

  nacked(flight: Flight, delayMs: number | undefined, reason: string | undefined): void {
    // `reason` only when the nack gave one (a consumer's explicit nack, or a handler's failure).
    if (this.events.wants('nacked')) this.events.emit('nacked', { ...this.ref(flight), delayMs, ...(reason !== undefined && { reason }) });
  }

  leaseExpired(flight: Flight): void {
    if (this.events.wants('leaseExpired')) this.events.emit('leaseExpired', this.ref(flight));
  }

  redelivered(entry: Entry, reason: RedeliveryReason, nextDeliveryCount: number, delayMs: number): void {
    if (!this.events.wants('redelivered')) return;
    this.events.emit('redelivered', {
      topic: this.topic, group: this.group, partition: entry.partition, offset: entry.offset, reason, nextDeliveryCount, delayMs,
    });
  }

  deadLettered(entry: Entry, deliveryCount: number, reason: string, deadLetterTopic: string, deadLetterOffset: bigint): void {
    if (!this.events.wants('deadLettered')) return;
    this.events.emit('deadLettered', {
      topic: this.topic, group: this.group, partition: entry.partition, offset: entry.offset,
      deliveryCount, reason, deadLetterTopic, deadLetterOffset,
    });
  }

  /** 'partition' ordering: the owners of every partition after a change. */
  rebalanced(windows: readonly PartitionWindow[], reason: RebalanceReason, member: Member): void {
    if (!this.events.wants('rebalanced')) return;
    const assignment: Record<string, number[]> = {};
    for (const window of windows) if (window.owner) (assignment[window.owner.id] ??= []).push(window.partition);
    this.events.emit('rebalanced', { topic: this.topic, group: this.group, assignment, reason, member: member.id });
  }

  retentionDropped(partition: number, startOffset: bigint, lostRecords: bigint): void {
    if (this.events.wants('retentionDropped')) {
      this.events.emit('retentionDropped', { topic: this.topic, partition, startOffset, group: this.group, lostRecords });
    }
  }

  /** resetGroup: every partition restarts at its offset. */
  reset(offsets: readonly bigint[]): void {
    if (this.events.wants('groupReset')) this.events.emit('groupReset', { topic: this.topic, group: this.group, offsets: [...offsets] });
  }

  private ref(flight: Flight) {
    return {
      topic: this.topic, group: this.group, partition: flight.entry.partition, offset: flight.entry.offset,
      member: flight.member.id, deliveryCount: flight.deliveryCount,
    };
  }
}
