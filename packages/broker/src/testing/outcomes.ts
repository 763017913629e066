/**
 * What became of each record in each group, folded from the history once per check: the facts
 * the per-record checkers judge.
 */
import type { HistoryEvent } from './history.js';

export interface CheckInput {
  readonly history: readonly HistoryEvent[];
  /** The groups of the simulation and the topic each reads. */
  readonly groups: readonly { readonly group: string; readonly topic: string }[];
  /** Ids of the records in the log at the end (the final drain read, as Jepsen's total-queue wants). */
  readonly inLog: ReadonlySet<string>;
  /** Per group, ids in the log below its final ackFloor: not owed to it any more (acked, dead-lettered, or before its start or reset). */
  readonly belowAckFloor?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Topics of the run that no longer exist at the end (an admin step deleted them): their records went with them. */
  readonly deletedTopics?: ReadonlySet<string>;
}

export interface RecordOutcome {
  readonly group: string;
  readonly id: string;
  /** The produce call that sent it succeeded. */
  confirmed: boolean;
  inLog: boolean;
  /** Deliveries (not counting duplicated frames). */
  deliveries: number;
  /** The highest deliveryCount the broker gave it: attempts since it was last acked or replayed (a reset starts again at 1). */
  highestDeliveryCount: number;
  /** Handler runs that finished. */
  processed: number;
  deadLettered: boolean;
  /** Acked or dead-lettered, and not delivered again since (a power cut can undo an ack). */
  done: boolean;
  /** Retention deleted it while the group had not acked it (the group was told: retentionDropped). */
  droppedByRetention: boolean;
  /** Retention deleted it from the log (whether or not the group was owed it): gone by policy, not by a restart. */
  deletedByRetention: boolean;
  /** Below the group's final ackFloor: the broker owes it to the group no more (e.g. it started at 'latest' after it). */
  belowAckFloor: boolean;
  /** Its topic was deleted (an admin step): gone by an operator's hand, not by a restart. */
  topicDeleted: boolean;
}

const cache = new WeakMap<CheckInput, RecordOutcome[]>();

/** One outcome per (group, record of the group's topic), in produce order. */
export function recordOutcomes(input: CheckInput): RecordOutcome[] {
  const cached = cache.get(input);
  if (cached) return cached;
  const byKey = new Map<string, RecordOutcome>();
  const confirmed = new Set(input.history.flatMap((e) => (e.type === 'produced' ? e.records.map((r) => r.id) : [])));
  for (const e of input.history) {
    if (e.type !== 'produce') continue;
    for (const { group, topic } of input.groups) {
      if (topic !== e.topic) continue;
      for (const id of e.ids) {
        byKey.set(`${group} ${id}`, {
          group, id, confirmed: confirmed.has(id), inLog: input.inLog.has(id), deliveries: 0, highestDeliveryCount: 0, processed: 0, deadLettered: false, done: false,
          droppedByRetention: false, deletedByRetention: false, belowAckFloor: input.belowAckFloor?.get(group)?.has(id) ?? false,
          topicDeleted: input.deletedTopics?.has(topic) ?? false,
        });
      }
    }
  }
  for (const e of input.history) {
    if (!('group' in e) || !('id' in e)) continue;
    const outcome = byKey.get(`${e.group} ${e.id}`);
    if (outcome) fold(outcome, e);
  }
  markRetentionDrops(input, byKey);
  const outcomes = [...byKey.values()];
  cache.set(input, outcomes);
  return outcomes;
}

function fold(outcome: RecordOutcome, e: HistoryEvent): void {
  switch (e.type) {
    case 'deliver':
      if (e.duplicate) return;
      outcome.deliveries += 1;
      outcome.highestDeliveryCount = Math.max(outcome.highestDeliveryCount, e.deliveryCount);
      outcome.done = false;
      return;
    case 'processed': outcome.processed += 1; return;
    case 'acked': outcome.done = true; return;
    case 'deadLettered':
      outcome.deadLettered = true;
      outcome.done = true;
      return;
    case 'redelivered': outcome.done = false; return;
    default:
  }
}

/**
 * Retention deleted the records of a partition below its new startOffset; a group told that it was
 * overtaken lost those of them it had not acked.
 */
function markRetentionDrops(input: CheckInput, byKey: Map<string, RecordOutcome>): void {
  const places = new Map<string, { topic: string; partition: number; offset: number }>();
  for (const e of input.history) {
    if (e.type === 'produced') for (const r of e.records) places.set(r.id, { topic: e.topic, ...r });
    if (e.type !== 'retentionDropped') continue;
    for (const outcome of byKey.values()) {
      const place = places.get(outcome.id);
      if (!place || place.topic !== e.topic || place.partition !== e.partition || place.offset >= e.startOffset) continue;
      outcome.deletedByRetention = true;
      if (outcome.group === e.group && !outcome.done) outcome.droppedByRetention = true;
    }
  }
}
