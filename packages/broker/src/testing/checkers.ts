/**
 * Jepsen-style checkers over a simulation's history. Each one looks for one kind of anomaly and
 * explains every violation with the slice of history about the records involved (plus the faults
 * and crashes in between), so a failure reads as a story, not a boolean.
 *
 * Records are judged per group: in a group, every confirmed record must be processed (a handler
 * finished it) or dead-lettered, and end acked or dead-lettered.
 */
import { checkInteger } from './fault-plan.js';
import { formatEvent, formatTime, type HistoryEvent } from './history.js';
import { recordOutcomes, type CheckInput, type RecordOutcome } from './outcomes.js';

export type { CheckInput } from './outcomes.js';

export interface Violation {
  readonly checker: string;
  readonly message: string;
  readonly ids: readonly string[];
  /** The history about `ids`, with the faults and crashes among it. */
  readonly slice: readonly HistoryEvent[];
}

export interface CheckResult {
  readonly checker: string;
  readonly ok: boolean;
  /** One line, also when ok (counts). */
  readonly summary: string;
  readonly violations: readonly Violation[];
}

export interface Checker {
  readonly name: string;
  check(input: CheckInput): CheckResult;
}

const SLICE_EVENTS_MAX = 40;
/** World events from before a record's first event that a slice keeps: what set the scene. */
const SLICE_PRELUDE_MAX = 5;
/** Events that explain what happened around a record: not about a record, but about the world. */
const WORLD_EVENTS: ReadonlySet<HistoryEvent['type']> = new Set(['fault', 'consumer', 'uncaught', 'brokerRestart', 'rebalanced', 'groupReset', 'groupDeleted']);

/**
 * Events about `ids`, the world events between the first and the last of them, and the last few
 * world events before them (at most SLICE_EVENTS_MAX in all, oldest dropped).
 */
export function historySlice(history: readonly HistoryEvent[], ids: readonly string[]): HistoryEvent[] {
  const wanted = new Set(ids);
  const about = (e: HistoryEvent) => mentions(e).some((id) => wanted.has(id));
  const first = history.findIndex(about);
  if (first < 0) return [];
  let last = first;
  history.forEach((e, i) => (about(e) ? (last = i) : undefined));
  const prelude = history.slice(0, first).filter((e) => WORLD_EVENTS.has(e.type)).slice(-SLICE_PRELUDE_MAX);
  const slice = history.slice(first, last + 1).filter((e) => about(e) || WORLD_EVENTS.has(e.type));
  return [...prelude, ...slice].slice(-SLICE_EVENTS_MAX);
}

/** The record ids an event is about. */
function mentions(e: HistoryEvent): readonly string[] {
  if (e.type === 'produce' || e.type === 'produceFailed') return e.ids;
  if (e.type === 'produced') return e.records.map((r) => r.id);
  return 'id' in e && e.id !== undefined ? [e.id] : [];
}

function result(checker: string, violations: Violation[], summary: string): CheckResult {
  return { checker, ok: violations.length === 0, summary, violations };
}

function perRecord(name: string, input: CheckInput, judge: (r: RecordOutcome) => string | undefined, summary: (bad: number, all: number) => string): CheckResult {
  const outcomes = recordOutcomes(input);
  const violations: Violation[] = [];
  for (const outcome of outcomes) {
    const message = judge(outcome);
    if (message) violations.push({ checker: name, message: `${outcome.group}: ${message}`, ids: [outcome.id], slice: historySlice(input.history, [outcome.id]) });
  }
  return result(name, violations, summary(violations.length, outcomes.length));
}

/** Why a record counts as lost in its group, or undefined: the judgement of `lost`, also used by the counters. */
export function lostReason(r: RecordOutcome): string | undefined {
  if (!r.confirmed || r.processed > 0 || r.deadLettered) return undefined;
  if (r.done) return `${r.id} was acked but no handler finished processing it (acked before processing?)`;
  if (r.droppedByRetention) return `${r.id} was deleted by retention before the group processed it (the group was told: retentionDropped)`;
  if (r.topicDeleted) return `${r.id} was deleted with its topic before the group processed it (an admin step deleted the topic)`;
  // Deleted by retention without the group being told: it was before the group's start, or acked.
  if (!r.inLog && !r.deletedByRetention) return `${r.id} was confirmed to the producer but is not in the log any more (a restart lost it: fsync policy?)`;
  return undefined;
}

/** Jepsen's lost: a confirmed record that left the group without being processed or dead-lettered. */
export function lost(): Checker {
  return {
    name: 'lost',
    check: (input) => perRecord('lost', input, lostReason, (bad, all) => `${bad} lost of ${all} records`),
  };
}

/** Jepsen's unexpected: a delivery of a record no producer sent. */
export function unexpected(): Checker {
  return {
    name: 'unexpected',
    check(input) {
      const sent = new Set(input.history.flatMap((e) => (e.type === 'produce' ? e.ids : [])));
      const violations = input.history.flatMap((e): Violation[] => (e.type === 'deliver' && !sent.has(e.id)
        ? [{ checker: 'unexpected', message: `delivered ${e.id}, which was never produced`, ids: [], slice: [e] }] : []));
      return result('unexpected', violations, `${violations.length} unexpected deliveries`);
    },
  };
}

/** Records delivered more than once in a group: allowed by at-least-once, so counted, not failed, unless `allow: false`. */
export function duplicateDelivery({ allow = true }: { allow?: boolean } = {}): Checker {
  return {
    name: 'duplicateDelivery',
    check(input) {
      const outcomes = recordOutcomes(input).filter((r) => r.deliveries > 1);
      const deliveries = outcomes.reduce((sum, r) => sum + r.deliveries - 1, 0);
      const violations = allow ? [] : outcomes.map((r): Violation => ({
        checker: 'duplicateDelivery', message: `${r.group}: ${r.id} delivered ${r.deliveries} times`, ids: [r.id], slice: historySlice(input.history, [r.id]),
      }));
      return result('duplicateDelivery', violations, `${outcomes.length} records delivered more than once (${deliveries} extra deliveries${allow ? ', allowed: at-least-once' : ''})`);
    },
  };
}

/** The same side effect (kind and identity) happened twice: the handler is not idempotent under redelivery. */
export function duplicateEffect(): Checker {
  return {
    name: 'duplicateEffect',
    check(input) {
      const byIdentity = new Map<string, Extract<HistoryEvent, { type: 'effect' }>[]>();
      for (const e of input.history) {
        if (e.type !== 'effect') continue;
        const identity = `${e.kind}(${e.effectId})`;
        byIdentity.set(identity, [...(byIdentity.get(identity) ?? []), e]);
      }
      const violations: Violation[] = [];
      for (const [identity, effects] of byIdentity) {
        if (effects.length < 2) continue;
        const ids = [...new Set(effects.map((e) => e.id))];
        const where = effects.map((e) => `${e.consumer} on ${e.id} #${e.deliveryCount}`).join(', ');
        violations.push({
          checker: 'duplicateEffect', ids, slice: historySlice(input.history, ids),
          message: `effect ${identity} happened ${effects.length} times (${where}): delivery is at-least-once, make the effect idempotent (an idempotency key, a dedupe write in the same transaction)`,
        });
      }
      return result('duplicateEffect', violations, `${byIdentity.size} distinct effects, ${violations.length} duplicated`);
    },
  };
}

/**
 * Order of processing: in each group and scope (a key, or a partition), a handler must never
 * finish a record after it finished a later record of the scope, first time or again: an
 * order-dependent handler would have applied the past over the future. Processing the same record
 * twice in a row (a redelivery before anything later) is not an order violation. Records are
 * placed by (log generation, offset): a restart that loses unsynced bytes starts a new generation,
 * whose records may reuse the offsets of lost ones and are later all the same.
 */
function processingOrder(
  name: string, scopeOf: (e: { partition: number }, key: string | null) => string | undefined, scope: string, hint: (redelivered: boolean) => string,
): Checker {
  return {
    name,
    check(input) {
      const keys = new Map<string, string | null>();
      for (const e of input.history) if (e.type === 'deliver') keys.set(e.id, e.key);
      // A group name may be used on several topics: those are separate groups, with offsets and keys of their own.
      const topics = new Map(input.history.flatMap((e) => (e.type === 'produce' ? e.ids.map((id) => [id, e.topic] as const) : [])));
      const generationOf = logGenerations(input.history);
      const place = (e: { id: string; offset: number }) => ({ id: e.id, offset: e.offset, generation: generationOf.get(e.id) ?? 0 });
      const latest = new Map<string, ReturnType<typeof place>>();
      // The highest delivery count each record reached in each group so far: > 1 means a redelivery was involved.
      const attempts = new Map<string, number>();
      const violations: Violation[] = [];
      for (const e of input.history) {
        // An operator's reset (or a delete, after which the group starts again) replays on purpose:
        // the order starts again there, as a replay's deliveryCount does.
        if (e.type === 'groupReset' || e.type === 'groupDeleted') forgetGroup(e, latest, attempts, topics);
        if (e.type === 'deliver') attempts.set(`${e.group} ${e.id}`, Math.max(attempts.get(`${e.group} ${e.id}`) ?? 0, e.deliveryCount));
        if (e.type !== 'processed') continue;
        const within = scopeOf(e, keys.get(e.id) ?? null);
        if (within === undefined) continue;
        const slot = `${e.group} ${topics.get(e.id) ?? ''} ${within}`;
        const before = latest.get(slot);
        const now = place(e);
        if (before && (before.generation > now.generation || (before.generation === now.generation && before.offset > now.offset))) {
          violations.push({
            checker: name, ids: [before.id, e.id], slice: historySlice(input.history, [before.id, e.id]),
            message: `${e.group}, ${within}: ${e.id} (offset ${e.offset}) was processed after ${before.id} (offset ${before.offset})${hint((attempts.get(`${e.group} ${e.id}`) ?? 0) > 1)}`,
          });
        } else latest.set(slot, now);
      }
      return result(name, violations, `${violations.length} ${scope} order violations`);
    },
  };
}

/** Drops what the order check remembers of a group on a topic: its slots and its records' attempts. */
function forgetGroup(e: { group: string; topic: string }, latest: Map<string, unknown>, attempts: Map<string, number>, topics: ReadonlyMap<string, string>): void {
  for (const slot of latest.keys()) if (slot.startsWith(`${e.group} ${e.topic} `)) latest.delete(slot);
  for (const key of attempts.keys()) {
    const [group, id] = key.split(' ') as [string, string];
    if (group === e.group && topics.get(id) === e.topic) attempts.delete(key);
  }
}

/** Crashes after which the log may have lost its unsynced tail, and so give its offsets out again. */
const DATA_LOSING_CRASHES: ReadonlySet<string> = new Set(['powerCut', 'tornWrite']);

/** Each record's log generation: how many data-losing restarts came before it was first produced or delivered. */
function logGenerations(history: readonly HistoryEvent[]): Map<string, number> {
  const generations = new Map<string, number>();
  let generation = 0;
  for (const e of history) {
    if (e.type === 'brokerRestart' && DATA_LOSING_CRASHES.has(e.crash)) generation += 1;
    const ids = e.type === 'produced' ? e.records.map((r) => r.id) : e.type === 'deliver' ? [e.id] : [];
    for (const id of ids) if (!generations.has(id)) generations.set(id, generation);
  }
  return generations;
}

/** Per-key order (records with a null key have none). */
export function perKeyOrder(): Checker {
  const fix = "ordering 'key' keeps a key in order, and a version check keeps a handler safe from stale records";
  return processingOrder('perKeyOrder', (e, key) => (key === null ? undefined : `p${e.partition} key ${JSON.stringify(key)}`), 'per-key', (redelivered) => (redelivered
    ? `: load balancing plus redelivery reorders (DDIA fig. 11-2); ${fix}`
    : `: processed concurrently, by several consumers or with maxInFlight > 1, and the later record finished first (no redelivery); ${fix}`));
}

/** Per-partition order: what ordering 'partition' promises; under 'none' or 'key' it is expected to fail. */
export function perPartitionOrder(): Checker {
  return processingOrder('perPartitionOrder', (e) => `partition ${e.partition}`, 'per-partition', () => '');
}

/** A record still in the log at the end that its group neither acked nor dead-lettered, though the broker still owes it to the group. */
export function stuck(): Checker {
  return {
    name: 'stuck',
    check: (input) => perRecord('stuck', input, (r) => (r.inLog && !r.done && !r.belowAckFloor
      ? `${r.id} is neither acked nor dead-lettered at the end (${r.deliveries === 0 ? 'never delivered' : `${r.deliveries} deliveries`})` : undefined),
    (bad) => `${bad} stuck records`),
  };
}

/** A poison record delivered again and again: a hot loop that maxDeliveries or reject() would end. */
export function hotLoop({ deliveries = 10 }: { deliveries?: number } = {}): Checker {
  // 0 would flag every record, delivered or not.
  checkInteger(deliveries, 'hotLoop deliveries', 1);
  return {
    name: 'hotLoop',
    // By deliveryCount, not deliveries: a group reset replays a record as a first attempt again,
    // however often an operator does it; a loop is attempts that keep failing.
    check(input) {
      return perRecord('hotLoop', input, (r) => (r.highestDeliveryCount >= deliveries
        ? `${r.id} reached deliveryCount ${r.highestDeliveryCount}${r.done ? '' : ' and was never acked or dead-lettered'}: ${loopCause(input.history, r.group, r.id)}`
        : undefined), (bad) => `${bad} records at deliveryCount ${deliveries}+`);
    },
  };
}

/**
 * Why a record's attempts kept failing: a handler that fails it (a poison record), or attempts
 * that only ever ended by their lease running out (a handler slower than its lease), for which
 * maxDeliveries would dead-letter a good record.
 */
function loopCause(history: readonly HistoryEvent[], group: string, id: string): string {
  const reasons = new Set(history.flatMap((e) => (e.type === 'redelivered' && e.group === group && e.id === id ? [e.reason] : [])));
  if (reasons.size === 1 && reasons.has('leaseExpired')) {
    return 'every attempt ended by its lease running out (leaseExpired): the handler, or a slow or paused process, holds a delivery longer than ackTimeoutMs (extend() it, or a longer ackTimeoutMs)';
  }
  return 'poison record in a hot loop (set maxDeliveries, or reject() what cannot succeed)';
}

/** Every checker but perPartitionOrder (which only 'partition' ordering promises). */
export function defaultCheckers(): Checker[] {
  return [lost(), unexpected(), duplicateDelivery(), duplicateEffect(), perKeyOrder(), stuck(), hotLoop()];
}

/**
 * Not a checker (a run without checkers still fails on it): what the handlers' timer callbacks
 * threw, a bug in the code under test however the records fared. Undefined when nothing did.
 */
export function uncaughtErrors(history: readonly HistoryEvent[]): CheckResult | undefined {
  const thrown = history.filter((e): e is Extract<HistoryEvent, { type: 'uncaught' }> => e.type === 'uncaught');
  if (thrown.length === 0) return undefined;
  const violations = thrown.map((e) => ({
    checker: 'uncaught', message: `${e.consumer}: a timer callback threw at ${formatTime(e.t)}: ${e.error}`, ids: [],
    slice: history.filter((other) => other.seq <= e.seq + 1 && other.seq >= e.seq - SLICE_PRELUDE_MAX),
  }));
  return result('uncaught', violations, `${thrown.length} uncaught exceptions in timer callbacks (each crashed its consumer)`);
}

export function formatViolation(violation: Violation): string {
  return [violation.message, ...violation.slice.map((e) => `    ${formatEvent(e)}`)].join('\n');
}
