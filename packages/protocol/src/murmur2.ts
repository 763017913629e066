/**
 * Kafka's key hash and default partitioner, so that a key lands on the same partition number in
 * Brook as with the Java client (and kafkajs's DefaultPartitioner): Utils.murmur2 and
 * `toPositive(murmur2(key)) % numPartitions`.
 *
 * This is MurmurHash2 as Kafka ships it, seed 0x9747b28c. Java's int arithmetic wraps at 32 bits;
 * Math.imul and the bitwise operators reproduce that exactly.
 */
import { assert } from './errors.js';
import type { AsciiText } from './record-batch.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Byte `i` of `data`: ASCII text's bytes are its char codes. */
function byteAt(data: Uint8Array | AsciiText, i: number): number {
  return typeof data === 'string' ? data.charCodeAt(i) : data[i]!;
}

/** Signed 32-bit hash, equal to Java's `Utils.murmur2(data)` (of the text's bytes, for AsciiText). */
export function murmur2(data: Uint8Array | AsciiText): number {
  const length = data.length;
  let h = SEED ^ length;
  const wholeWordsEnd = length & ~3;
  for (let i = 0; i < wholeWordsEnd; i += 4) {
    let k = byteAt(data, i) | (byteAt(data, i + 1) << 8) | (byteAt(data, i + 2) << 16) | (byteAt(data, i + 3) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // Java's switch falls through from case 3 to case 1; spelled out since this codebase forbids
  // switch fall-through.
  const tailLength = length & 3;
  if (tailLength > 0) {
    if (tailLength === 3) h ^= byteAt(data, wholeWordsEnd + 2) << 16;
    if (tailLength >= 2) h ^= byteAt(data, wholeWordsEnd + 1) << 8;
    h ^= byteAt(data, wholeWordsEnd);
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array | AsciiText, partitionCount: number): number {
  // Topic creation validates partition counts, so a bad one here is a bug, not bad input. Once
  // per record: the detail object is made only on the failing path.
  if (!Number.isInteger(partitionCount) || partitionCount <= 0) assert(false, 'partitionCount must be a positive integer', { partitionCount });
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}
