/**
 * What the delivery harness (delivery-model.ts) expects of the admin and retention paths: where a
 * reset moves the group, which records a new group never owed, and the calls that must be
 * refused (test-only).
 */
import { isBrookError, type ErrorCode } from '@brook/protocol';
import type { Broker } from '../broker.js';
import { GROUP, TOPIC, type ResetTarget, type Settings } from './delivery-commands.js';
import { hasGroup, type RecordModel } from './delivery-invariants.js';
import type { StartPosition } from './subscribe-options.js';

function startPosition(target: ResetTarget, now: number): StartPosition {
  if (typeof target === 'string') return target;
  return 'offset' in target ? { offset: BigInt(target.offset) } : { timestamp: now - target.agoMs };
}

/**
 * Where a reset to `to` moves each partition: the topic's bounds, an offset clamped to them, or
 * the first record retained stamped at or after the timestamp (the model's), else endOffset.
 */
function resetOffsets(broker: Broker, records: ReadonlyMap<string, RecordModel>, to: StartPosition): bigint[] {
  return broker.describeTopic(TOPIC).partitions.map(({ partition, startOffset, endOffset }) => {
    if (to === 'earliest') return startOffset;
    if (to === 'latest') return endOffset;
    if ('offset' in to) return to.offset < startOffset ? startOffset : to.offset > endOffset ? endOffset : to.offset;
    let first = endOffset;
    for (const r of records.values()) {
      if (r.partition === partition && r.offset >= startOffset && r.offset < first && r.timestamp >= to.timestamp) first = r.offset;
    }
    return first;
  });
}

/**
 * The resetGroup calls under way. A reset runs alongside other commands (acks, leaves, produces,
 * retention in the same turn), so the model applies it at its groupReset event, not at the call.
 * Resets of a group run one after another, each resolving its target when its turn comes, so a
 * call moves the group, per partition, at or after where its target pointed at the call (raised
 * to the startOffsets retention has moved to) and at or before where it points at the event:
 * the topic's bounds, and the records stamped at or after a timestamp, only grow meanwhile.
 */
export class ResetsUnderWay {
  /** Per call: its target, the offsets worked out at the call, and those its groupReset event moved to. */
  private readonly underWay: { to: StartPosition; expected: bigint[]; applied?: readonly bigint[] }[] = [];
  private readonly calls: Promise<void>[] = [];

  constructor(private readonly violations: string[]) {}

  start(broker: Broker, records: ReadonlyMap<string, RecordModel>, target: ResetTarget, now: number): void {
    const to = startPosition(target, now);
    if (!hasGroup(broker)) {
      this.calls.push(expectFailure(broker.resetGroup(TOPIC, GROUP, to), 'UNKNOWN_GROUP', 'resetGroup of a group never joined', this.violations));
      return;
    }
    this.underWay.push({ to, expected: resetOffsets(broker, records, to) });
    const what = `resetGroup to ${JSON.stringify(target)}`;
    this.calls.push(broker.resetGroup(TOPIC, GROUP, to).then(
      (offsets) => {
        const index = this.underWay.findIndex((call) => call.applied?.join() === offsets.join());
        if (index < 0) this.violations.push(`${what} resolved with [${offsets.join()}] before a groupReset event moved the group there`);
        else this.underWay.splice(index, 1);
      },
      (error: unknown) => void this.violations.push(`${what} failed: ${String(error)}`),
    ));
  }

  /** A groupReset event: the move of the first call under way not yet applied (they apply in call order). */
  applied(broker: Broker, records: ReadonlyMap<string, RecordModel>, offsets: readonly bigint[]): void {
    const starts = broker.describeTopic(TOPIC).partitions.map((p) => p.startOffset);
    const call = this.underWay.find(({ applied }) => !applied);
    const latest = call && resetOffsets(broker, records, call.to);
    const fits = offsets.every((offset, p) => call && offset >= (call.expected[p]! < starts[p]! ? starts[p]! : call.expected[p]!) && offset <= latest![p]!);
    if (call && fits) call.applied = offsets;
    else this.violations.push(`groupReset to [${offsets.join()}], which no resetGroup under way expects`);
  }

  /** Until every call made so far has resolved: a power cut must not land on a reset not yet durable. */
  async settled(): Promise<void> {
    await Promise.all(this.calls.splice(0));
  }
}

/** A group just created starts at its ackFloors ('earliest': the topic's startOffsets): what is below was never its. */
export function skipBelowStart(broker: Broker, records: ReadonlyMap<string, RecordModel>): void {
  const { partitions } = broker.describeGroup(TOPIC, GROUP);
  for (const rec of records.values()) {
    if (rec.state === 'pending' && rec.count === 0 && rec.offset < partitions[rec.partition]!.ackFloor) rec.state = 'skipped';
  }
}

export function sameSettings(a: Settings, b: Settings): boolean {
  return a.ackTimeoutMs === b.ackTimeoutMs && a.maxDeliveries === b.maxDeliveries && a.backoff.initialMs === b.backoff.initialMs
    && a.backoff.maxMs === b.backoff.maxMs && a.backoff.multiplier === b.backoff.multiplier && a.backoff.jitter === b.backoff.jitter;
}

/** `call` must fail with `code`; anything else is a violation named `what`. */
export async function expectFailure(call: Promise<unknown>, code: ErrorCode, what: string, violations: string[]): Promise<void> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  if (!isBrookError(error, code)) violations.push(`${what}: ${error === undefined ? 'succeeded' : String(error)}, not ${code}`);
}
