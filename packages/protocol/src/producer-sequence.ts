/**
 * Idempotent producers number their records per partition: a batch carries the sequence of its
 * first record (`baseSequence`), an int32 that wraps from 2^31-1 to 0 as Kafka's clients number
 * them. The client numbering its batches and the broker checking them must wrap alike, so both
 * use this one rule.
 */

export const SEQUENCE_MAX = 0x7fffffff;

/** `sequence + increment`, wrapping past SEQUENCE_MAX to 0 (Kafka's incrementSequence). */
export function addToSequence(sequence: number, increment: number): number {
  return sequence > SEQUENCE_MAX - increment ? increment - (SEQUENCE_MAX - sequence) - 1 : sequence + increment;
}
