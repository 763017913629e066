/**
 * describeTopic's answer, defined once for both sides like the group description
 * (group-description.ts): `Broker.describeTopic` and `client.admin.describeTopic` return offsets as
 * bigints, a RESPONSE carries them as decimal strings.
 */

export interface PartitionDescriptionOf<Offset> {
  readonly partition: number;
  /** The first offset still retained. */
  readonly startOffset: Offset;
  /** The offset the next record will get. */
  readonly endOffset: Offset;
  /** Bytes of its segment files. */
  readonly sizeBytes: number;
  readonly segments: number;
}

export interface TopicDescriptionOf<Offset> {
  readonly name: string;
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
