/**
 * @brook/protocol: the formats Brook shares between broker, client and disk (record batches,
 * CRC-32C, varints, the murmur2 partitioner), its one error type, and the ports (file system,
 * clock, randomness) that keep the core deterministic and testable.
 */
export * from './errors.js';
export * from './crc32c.js';
export * from './varint.js';
export * from './record-batch.js';
export type { StoredRecord } from './stored-record.js';
export { corruptBatch } from './record-decoder.js';
export { sizeOfRecordMax } from './record-encoder.js';
export * from './murmur2.js';
export * from './producer-sequence.js';
export * from './topic-name.js';
export * from './random.js';
export * from './random-seeded.js';
export * from './clock/clock.js';
export * from './clock/system-clock.js';
export * from './clock/virtual-clock.js';
export * from './fs/file-system.js';
export * from './fs/node-file-system.js';
export * from './fs/memory-file-system.js';
export * from './fs/atomic.js';
export * from './fs/durable-dir.js';
export { TimerHeap, type HeapTimer } from './clock/timer-heap.js';
export * from './wire/frame.js';
export * from './wire/deliveries.js';
export * from './wire/taken-back.js';
export * from './wire/messages.js';
export * from './wire/group-description.js';
export * from './wire/topic-description.js';
export * from './wire/stable-json.js';
export * from './record-input.js';
export * from './timestamps.js';
export * from './fetch-request.js';
export { checkRedriveArgs } from './redrive-args.js';
export * from './request-fields.js';
export { isSlabView, slabCopy } from './byte-slab.js';
export { concatBytes } from './concat-bytes.js';
export { AsyncQueue } from './async-queue.js';
export * from './fs/dir-lock.js';
export * from './limits.js';
export * from './option-keys.js';
export * from './settle-arguments.js';
export * from './show-value.js';
