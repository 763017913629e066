/**
 * Where a new group (or a tail reader) starts, or where resetGroup moves a group: bigint offsets
 * in the API, decimal strings on the wire.
 */
import { BrookError, type WireStartPosition } from '@brook/protocol';

export type StartPosition = 'earliest' | 'latest' | { offset: bigint } | { timestamp: number };

export function wireStartPosition(from: StartPosition): WireStartPosition {
  if (typeof from === 'object' && from !== null && 'offset' in from) {
    if (typeof from.offset !== 'bigint') throw new BrookError('INVALID_CONFIG', 'from.offset must be a bigint', { option: 'from' });
    return { offset: from.offset.toString() };
  }
  return from;
}
