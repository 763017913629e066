/**
 * The counters of a run, per group and in all: what a trace summarises and what a demo asserts.
 *
 *   produced      records confirmed to their producer
 *   delivered     deliveries (a duplicated frame is not a second delivery)
 *   acked         acks the broker took
 *   redelivered   records taken back to be delivered again (nack, lease expiry, crash, rebalance, go-back, unsent)
 *   deadLettered  records copied to a dead-letter topic
 *   duplicated    side effects that happened again (the same `ctx.effect(kind, id)`)
 *   lost          records the `lost` checker judges lost (acked unprocessed, deleted by retention or a restart)
 *   lag           records the group had not acked at the end (describeGroup)
 */
import type { Broker } from '../broker.js';
import { lostReason } from './checkers.js';
import { recordOutcomes, type CheckInput } from './outcomes.js';

export interface Counters {
  produced: number;
  delivered: number;
  acked: number;
  redelivered: number;
  deadLettered: number;
  duplicated: number;
  lost: number;
  lag: number;
}

export const COUNTER_NAMES: readonly (keyof Counters)[] = ['produced', 'delivered', 'acked', 'redelivered', 'deadLettered', 'duplicated', 'lost', 'lag'];

function zero(): Counters {
  return { produced: 0, delivered: 0, acked: 0, redelivered: 0, deadLettered: 0, duplicated: 0, lost: 0, lag: 0 };
}

export function countHistory(input: CheckInput, broker: Broker): { total: Counters; groups: Record<string, Counters> } {
  const groups: Record<string, Counters> = {};
  const total = zero();
  const confirmedOf = new Map<string, number>();
  const seenEffects = new Set<string>();
  for (const { group } of input.groups) groups[group] = zero();
  for (const e of input.history) {
    if (e.type === 'produced') {
      total.produced += e.records.length;
      confirmedOf.set(e.topic, (confirmedOf.get(e.topic) ?? 0) + e.records.length);
    }
    const counters = 'group' in e && e.group !== undefined ? groups[e.group] : undefined;
    if (!counters) continue;
    if (e.type === 'deliver' && !e.duplicate) counters.delivered += 1;
    if (e.type === 'acked') counters.acked += 1;
    if (e.type === 'redelivered') counters.redelivered += 1;
    if (e.type === 'deadLettered') counters.deadLettered += 1;
    if (e.type === 'effect') {
      const identity = `${e.kind}(${e.effectId})`;
      if (seenEffects.has(identity)) counters.duplicated += 1;
      seenEffects.add(identity);
    }
  }
  for (const outcome of recordOutcomes(input)) if (lostReason(outcome)) groups[outcome.group]!.lost += 1;
  // One group name may read several topics (a group is per topic): its counters sum them, and go into the total once.
  for (const { group, topic } of input.groups) {
    const counters = groups[group]!;
    counters.produced += confirmedOf.get(topic) ?? 0;
    // listGroups() of all topics: one of them may have been deleted (an admin step).
    if (broker.listGroups().some((g) => g.topic === topic && g.group === group)) counters.lag += Number(broker.describeGroup(topic, group).lag);
  }
  for (const counters of Object.values(groups)) for (const name of COUNTER_NAMES) if (name !== 'produced') total[name] += counters[name];
  return { total, groups };
}

/** A table: one row per group (and `all` when there are several), one column per counter. */
export function formatCounters(counters: { total: Counters; groups: Readonly<Record<string, Counters>> }): string {
  const rows: [string, Counters][] = Object.entries(counters.groups);
  if (rows.length !== 1) rows.push(['all', counters.total]);
  const nameWidth = Math.max(5, ...rows.map(([name]) => name.length)) + 2;
  const header = ''.padEnd(nameWidth) + COUNTER_NAMES.map((name) => name.padStart(name.length + 2)).join('');
  const lines = rows.map(([name, c]) => name.padEnd(nameWidth) + COUNTER_NAMES.map((counter) => String(c[counter]).padStart(counter.length + 2)).join(''));
  return [header, ...lines].join('\n');
}
