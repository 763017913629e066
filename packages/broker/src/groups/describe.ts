/**
 * describeGroup: a group's members and, per partition, where it stands — ackFloor, endOffset,
 * lag (records not yet acked), what is in flight with its attempt and lease deadline, and the
 * counters (redeliveries, dead letters, records lost to retention, told or not yet).
 */
import type { GroupDescription, GroupPartitionDescription, InFlightDescription } from '@brook/protocol';
import type { Clock } from '@brook/protocol';
import type { PartitionLog } from '../log/partition-log.js';
import type { Group } from './group.js';

export function describeGroup(group: Group, logs: readonly PartitionLog[], clock: Clock): GroupDescription {
  // Leases are due on the monotonic reading; a person (and `brook groups`) reads a date.
  const wallAheadMs = clock.now() - clock.monotonicMs();
  const partitions = group.windows.map((window): GroupPartitionDescription => {
    const { startOffset, endOffset } = logs[window.partition]!;
    const { ack } = window;
    // Records retention deleted below the floor before the group was told (a reopen: it is told
    // at its next read, Group.overtakenBy) are gone, so no lag: they show as lost, not yet told.
    const untold = ack.ackFloor < startOffset ? ack.unackedBelow(startOffset) : 0n;
    const unacked = endOffset - ack.ackFloor - ack.ackedAboveFloor - untold;
    const inFlight: InFlightDescription[] = [];
    let backingOff = 0;
    for (const entry of window.entries()) {
      if (entry.state === 'backoff') backingOff += 1;
      if (entry.flight) {
        inFlight.push({ offset: entry.offset, member: entry.flight.member.id, deliveryCount: entry.flight.deliveryCount, leaseDeadlineMs: entry.flight.deadlineMs + wallAheadMs });
      }
    }
    inFlight.sort((a, b) => (a.offset < b.offset ? -1 : 1));
    return {
      partition: window.partition, ackFloor: ack.ackFloor, endOffset, lag: unacked > 0n ? unacked : 0n,
      owner: window.owner?.id, inFlight, backingOff, redeliveries: window.redeliveries,
      deadLettered: window.deadLettered, lostToRetention: window.lostToRetention, lostToRetentionUntold: untold,
    };
  });
  const { from: _from, ...config } = group.config;
  return {
    topic: group.topic,
    group: group.name,
    config,
    members: group.members.map((m) => ({ id: m.id, name: m.name, maxInFlight: m.maxInFlight, inFlight: m.inFlight, closing: m.closing, paused: m.paused, leaseLost: m.leaseLost })),
    partitions,
    lag: partitions.reduce((sum, p) => sum + p.lag, 0n),
    lastError: group.problem === undefined ? undefined : String(group.problem),
  };
}
