/**
 * The JSON type of a call's named arguments, checked alike by the in-process Broker, the client
 * and the wire server (whose JSON arguments are read by name): a topic, group or label that is
 * not a string is INVALID_REQUEST naming the argument (`details.field`), not an UNKNOWN_TOPIC
 * for a name nobody could have given.
 */
import { BrookError } from './errors.js';
import { showValue } from './show-value.js';

/** Throws INVALID_REQUEST for the first of `fields` that is not a string; undefined counts as absent when `optional`. */
export function checkStringFields(fields: Readonly<Record<string, unknown>>, optional = false): void {
  for (const [field, value] of Object.entries(fields)) {
    if (typeof value !== 'string' && !(optional && value === undefined)) throw invalidField(field, 'a string', value);
  }
}

/** Throws INVALID_REQUEST naming `partition` unless it is a non-negative integer (whether the topic has it is the broker's UNKNOWN_PARTITION). */
export function checkPartitionField(partition: unknown): void {
  if (!Number.isInteger(partition) || (partition as number) < 0) throw invalidField('partition', 'a non-negative integer', partition);
}

/** INVALID_REQUEST: `field` is not `expected`. */
export function invalidField(field: string, expected: string, value: unknown, details: Record<string, unknown> = {}): BrookError {
  return new BrookError('INVALID_REQUEST', `${field} must be ${expected}, got ${showValue(value)}`, { field, ...details });
}
