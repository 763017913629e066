/**
 * How the delivery harness (delivery-model.ts) settles a delivery a member holds, and what the
 * model expects of it (test-only): a settlement of the current delivery moves its record (a
 * reject dooms it, a nack's delayMs is remembered for the 'redelivered' event, an extend moves
 * its lease), an ack of it takes, and an ack or reject rejects with DELIVERY_STALE exactly when
 * it was taken back.
 */
import { isBrookError } from '@brook/protocol';
import type { Action } from './delivery-commands.js';
import { at, type Held, type RecordModel } from './delivery-invariants.js';
import type { Delivery } from './delivery.js';

/** What settling reads of the model: the held delivery's record, and whether it is current. */
export interface Settling {
  readonly rec: RecordModel;
  readonly current: boolean;
  readonly now: number;
  readonly ackTimeoutMs: number;
  readonly violations: string[];
}

/** An ack of a current delivery, to check after the command that it took. */
export interface AckedDelivery {
  readonly rec: RecordModel;
  readonly member: string | undefined;
  readonly count: number;
  readonly epoch: number;
}

/**
 * Settles `held` as `action` says: a handler's by its promise where it can, an iterator's by the
 * delivery. Returns the delivery if that was an ack of the current one.
 */
export function settleHeld(held: Held, action: Action, { rec, current, now, ackTimeoutMs, violations }: Settling): AckedDelivery | undefined {
  const { delivery } = held;
  switch (action.type) {
    case 'ack':
      if (held.resolve) held.resolve();
      else expectStaleOnlyIfTakenBack(delivery.ack(), delivery, current, violations);
      break;
    case 'nack':
      if (action.delayMs === undefined && held.reject) {
        held.reject(new Error('handler failed'));
      } else {
        if (current) rec.askedDelayMs = action.delayMs;
        delivery.nack(action.delayMs === undefined ? {} : { delayMs: action.delayMs });
        held.resolve?.();
      }
      break;
    case 'reject':
      if (current) {
        rec.state = 'dying';
        rec.rejected = true;
      }
      expectStaleOnlyIfTakenBack(delivery.reject('poison'), delivery, current, violations);
      held.resolve?.();
      break;
    case 'extend':
      if (current) rec.leaseDueMs = now + (action.ms ?? ackTimeoutMs);
      delivery.extend(action.ms);
      break;
  }
  return current && action.type === 'ack' ? { rec, member: rec.member, count: rec.count, epoch: rec.epoch } : undefined;
}

/** Once the command is done: an ack of the current delivery took, unless something took the delivery back first. */
export function expectAckTook({ rec, member, count, epoch }: AckedDelivery, violations: string[]): void {
  if (rec.state === 'inflight' && rec.member === member && rec.count === count && rec.epoch === epoch) {
    violations.push(`ack of current ${at(rec.partition, rec.offset)}#${count} was ignored`);
  }
}

/** An ack or reject rejects with DELIVERY_STALE exactly when its delivery was taken back. */
function expectStaleOnlyIfTakenBack(settled: Promise<void>, delivery: Delivery, current: boolean, violations: string[]): void {
  const name = `${at(delivery.partition, delivery.offset)}#${delivery.deliveryCount}`;
  settled.then(
    () => {
      if (!current) violations.push(`settling stale ${name} resolved`);
    },
    (error: unknown) => {
      const stale = isBrookError(error, 'DELIVERY_STALE');
      if (stale === current) violations.push(`settling ${current ? 'current' : 'stale'} ${name} failed with ${String(error)}`);
    },
  );
}
