/**
 * describeGroup's answer, defined once for both sides: `Broker.describeGroup` and
 * `client.admin.describeGroup` return it with offsets as bigints; on the wire (a RESPONSE's json)
 * the same fields carry offsets as decimal strings, since JSON numbers stop being exact at 2^53.
 * docs/semantics.md says what each field means.
 */
import { BrookError } from '../errors.js';

export interface InFlightDescriptionOf<Offset> {
  readonly offset: Offset;
  /** The member's id (`<group>-<n>`). */
  readonly member: string;
  readonly deliveryCount: number;
  readonly leaseDeadlineMs: number;
}

export interface GroupPartitionDescriptionOf<Offset> {
  readonly partition: number;
  readonly ackFloor: Offset;
  readonly endOffset: Offset;
  /** Records from ackFloor (or startOffset, if above it) to endOffset not acked yet (in flight, backing off, waiting). */
  readonly lag: Offset;
  /** 'partition' ordering: the member that owns it. */
  readonly owner: string | undefined;
  readonly inFlight: InFlightDescriptionOf<Offset>[];
  readonly backingOff: number;
  readonly redeliveries: number;
  readonly deadLettered: number;
  readonly lostToRetention: Offset;
  /**
   * Records retention deleted below startOffset that the group had not acked and has not been
   * told of yet (a broker reopened before it could tell): its next read of the partition counts
   * them in lostToRetention, and this goes to 0.
   */
  readonly lostToRetentionUntold: Offset;
}

export interface GroupMemberDescription {
  readonly id: string;
  readonly name: string;
  readonly maxInFlight: number;
  readonly inFlight: number;
  /** Leaving gracefully: gets nothing new, settles what it holds. */
  readonly closing: boolean;
  /**
   * Gets nothing new for now, as if its maxInFlight were 0: its connection is congested (the wire
   * server), or its consume() loop has maxInFlight deliveries waiting unread (in process).
   */
  readonly paused: boolean;
  /**
   * 'partition' ordering: a delivery's lease ran out on it, so it owns no partition (unless every
   * member lost one) until it settles something again.
   */
  readonly leaseLost: boolean;
}

/** The settings the group runs with (its first member's, or the last reconfiguration's). */
export interface GroupConfigDescription {
  readonly ordering: 'none' | 'key' | 'partition';
  readonly ackTimeoutMs: number;
  readonly maxDeliveries: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly multiplier: number; readonly jitter: number };
  readonly deadLetterTopic: string;
}

export interface GroupDescriptionOf<Offset> {
  readonly topic: string;
  readonly group: string;
  readonly config: GroupConfigDescription;
  readonly members: GroupMemberDescription[];
  readonly partitions: GroupPartitionDescriptionOf<Offset>[];
  readonly lag: Offset;
  /** Why the last pump step failed (a log read or journal write), until one succeeds; else why
   * the last journal compaction failed, until one succeeds (acks are unaffected: see semantics.md). */
  readonly lastError: string | undefined;
}

export type GroupDescription = GroupDescriptionOf<bigint>;
export type GroupPartitionDescription = GroupPartitionDescriptionOf<bigint>;
export type InFlightDescription = InFlightDescriptionOf<bigint>;
/** As a RESPONSE carries it: offsets as decimal strings, `owner` and `lastError` absent when unset. */
export type WireGroupDescription = GroupDescriptionOf<string>;

/** The wire form read back: offsets as bigints again. */
export function groupDescriptionFromWire(wire: WireGroupDescription): GroupDescription {
  return {
    ...wire,
    lag: BigInt(wire.lag),
    partitions: wire.partitions.map((p) => ({
      ...p,
      ackFloor: BigInt(p.ackFloor),
      endOffset: BigInt(p.endOffset),
      lag: BigInt(p.lag),
      lostToRetention: BigInt(p.lostToRetention),
      // Absent from a server before the field (fields are added within a protocol version).
      lostToRetentionUntold: BigInt(p.lostToRetentionUntold ?? '0'),
      inFlight: p.inFlight.map((flight) => ({ ...flight, offset: BigInt(flight.offset) })),
    })),
  };
}

/**
 * The topic of the group named `group` among `listed` (listGroups' answer), for
 * `describeGroup(group)` without its topic, as DESIGN.md's example calls it. A group belongs to
 * one topic (unlike a Kafka consumer group), and two topics may each have a group of one name:
 * UNKNOWN_GROUP if no topic has it, INVALID_REQUEST naming them if several do.
 */
export function topicOfGroup(listed: readonly { topic: string; group: string }[], group: string): string {
  if (typeof group !== 'string') throw new BrookError('INVALID_REQUEST', 'group must be a string', { field: 'group' });
  const topics = listed.filter((entry) => entry.group === group).map((entry) => entry.topic);
  if (topics.length === 0) throw new BrookError('UNKNOWN_GROUP', `no topic has a group ${group}`, { group });
  if (topics.length > 1) {
    throw new BrookError('INVALID_REQUEST', `group ${group} exists on topics ${topics.join(', ')}: name the topic, describeGroup(topic, group)`, { group, topics });
  }
  return topics[0]!;
}
