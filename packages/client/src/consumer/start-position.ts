/**
 * Where a new group (or a tail reader) starts, or where resetGroup moves a group: bigint offsets
 * in the API, decimal strings on the wire.
 */
import { BrookError, checkStartPositionKeys, type WireStartPosition } from '@brook/protocol';

export type StartPosition = 'earliest' | 'latest' | { offset: bigint } | { timestamp: number };

/** `option` names the argument in the error, as the broker's check does: subscribe's `from`, resetGroup's `to`. */
export function wireStartPosition(from: StartPosition, option: 'from' | 'to' = 'from'): WireStartPosition {
  checkStartPositionKeys(from, option);
  if (typeof from === 'object' && from !== null && 'offset' in from) {
    if (typeof from.offset !== 'bigint') throw new BrookError('INVALID_CONFIG', `${option}.offset must be a bigint`, { option });
    return { offset: from.offset.toString() };
  }
  return from;
}
