/**
 * describeTopic's answer, defined once for both sides like the group description
 * (group-description.ts): `Broker.describeTopic` and `client.admin.describeTopic` return offsets as
 * bigints, a RESPONSE carries them as decimal strings.
 */
import type { ErrorCode } from '../errors.js';

/**
 * Why a partition's log refuses writes until the broker reopens it (a failed fsync, seal or torn
 * round: docs/storage.md, I/O errors): the code its produces fail with, and its message.
 */
export interface LogFailureDescription {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface PartitionDescriptionOf<Offset> {
  readonly partition: number;
  /** The first offset still retained. */
  readonly startOffset: Offset;
  /** The offset the next record will get. */
  readonly endOffset: Offset;
  /** Bytes of its segment files. */
  readonly sizeBytes: number;
  readonly segments: number;
  /** Set once the log failed, until the broker is reopened; null while it is healthy (also in JSON). */
  readonly failure: LogFailureDescription | null;
  /**
   * Why the last retention run on this partition could not finish (its log-start.json not
   * written, a segment's files not deleted: docs/storage.md, Retention), until a later run does;
   * it is tried again at every pass. Null while retention works (also in JSON).
   */
  readonly retentionFailure: LogFailureDescription | null;
  /**
   * Why the last periodic producer-state snapshot of this partition could not be written
   * (docs/storage.md, Snapshots and recovery), until one is; tried again every
   * producerSnapshotIntervalMs. Meanwhile the next open replays the log from the previous
   * snapshot, ever more of it. Null while snapshots work (also in JSON).
   */
  readonly producerSnapshotFailure: LogFailureDescription | null;
}

/** The settings a topic was created with (its topic.json), so they can be read back. */
export interface TopicSettings {
  readonly retention: {
    readonly maxBytes?: number;
    readonly maxAgeMs?: number;
    /** 'old': delete the oldest segments at maxBytes; 'new': refuse producers (TOPIC_FULL). */
    readonly discard: 'old' | 'new';
  };
  readonly segmentBytesMax: number;
  readonly segmentMsMax: number;
}

export interface TopicDescriptionOf<Offset> {
  readonly name: string;
  readonly settings: TopicSettings;
  readonly partitions: PartitionDescriptionOf<Offset>[];
}

export type TopicDescription = TopicDescriptionOf<bigint>;
export type PartitionDescription = PartitionDescriptionOf<bigint>;
export type WireTopicDescription = TopicDescriptionOf<string>;

/** The wire form read back: offsets as bigints again. */
export function topicDescriptionFromWire(wire: WireTopicDescription): TopicDescription {
  return {
    ...wire,
    partitions: wire.partitions.map((p) => ({ ...p, startOffset: BigInt(p.startOffset), endOffset: BigInt(p.endOffset) })),
  };
}
