/**
 * The delivery harness's model of records, members and held deliveries, and the invariants it
 * checks against it on a quiet broker and after the drain (test-only; see delivery-model.ts).
 */
import type { Broker } from '../broker.js';
import { DEAD_LETTER_HEADERS } from './dead-letter.js';
import { GROUP, TOPIC, type Style } from './delivery-commands.js';
import type { Delivery } from './delivery.js';
import type { Ordering } from './subscribe-options.js';
import type { Subscription } from './subscription.js';

/** 'skipped': below where a reset moved the group; 'lost': deleted by retention before it was acked. */
export type State = 'pending' | 'inflight' | 'dying' | 'acked' | 'dead' | 'skipped' | 'lost';

export interface RecordModel {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: string | null;
  readonly value: string;
  readonly timestamp: number;
  state: State;
  /** Deliveries seen so far, across restarts: the last deliveryCount. */
  count: number;
  /**
   * 'partition': its last delivery that reached its member was taken back by a go-back or a
   * rebalance (a 'redelivered' event, 'goBack' or 'rebalance'), not failed, so its next attempt
   * is owed even past maxDeliveries. Only that allows a deliveryCount above maxDeliveries. It
   * holds through that next delivery until a failure ends it (a nack, a lease expiry, its member
   * leaving) or another take-back; a restart or a reconfigure forgets it, as the engine does.
   */
  attemptOwed: boolean;
  member: string | undefined;
  leaseDueMs: number;
  /** A redelivery may not come before this (its backoff). */
  notBeforeMs: number;
  /** The delayMs of a nack({ delayMs }) we just made, to compare with the redelivered event. */
  askedDelayMs: number | undefined;
  rejected: boolean;
  /** Counts the resets that passed over the record: a delivery held from before one is stale. */
  epoch: number;
  /** Dead-letter copies under way that no longer decide its state (a reset or retention came meanwhile). */
  orphanCopies: number;
  /**
   * Passed over while pending with no attempt left: its copy may have begun, which no event tells
   * (it is dead-lettered when its turn comes), so one may still be announced, until the broker is quiet.
   */
  mayBeCopying: boolean;
  /** The deliveryCount of each dead-letter copy made (deadLettered events), in order. */
  deadLetterCounts: number[];
}

export interface MemberModel {
  readonly label: string;
  readonly style: Style;
  readonly maxInFlight: number;
  sub: Subscription | undefined;
  /** An iterator's loop, over its current subscription. */
  loop: AsyncIterator<Delivery> | undefined;
  id: string | undefined;
  closing: boolean;
  /** Asked to leave at once (abort, an iterator's close): a stream does so a turn later. */
  leaving: boolean;
  gone: boolean;
}

/** Still a member: not gone, closing or leaving. */
export const isLive = (m: MemberModel) => !m.gone && !m.closing && !m.leaving;
/** The member id its subscription was given, once it has one. */
export const idOf = (m: MemberModel) => (m.id ??= m.sub?.memberId);

export interface Held {
  readonly delivery: Delivery;
  readonly member: MemberModel;
  /** The record's epoch when it was delivered. */
  readonly epoch: number;
  /** Handler style: the handler's promise, resolved (ack) or rejected (nack) by the test. */
  readonly resolve?: () => void;
  readonly reject?: (error: Error) => void;
}

export const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder();
export const at = (partition: number, offset: bigint) => `${partition}:${offset}`;

/** What checkQuietBroker reads of the harness. */
interface QuietView {
  readonly broker: Broker;
  readonly records: ReadonlyMap<string, RecordModel>;
  readonly held: readonly Held[];
  readonly now: number;
  readonly ordering: Ordering;
  /** Per partition, the records lost to retention since the broker opened (describeGroup's lostToRetention). */
  readonly lostSinceOpen: readonly bigint[];
  memberById(id: string): MemberModel | undefined;
}

/** Adds the violations of a quiet broker (leases, flow control, what members hold, describeGroup) to `violations`. */
export function checkQuietBroker(view: QuietView, violations: string[]): void {
  const inflight = [...view.records.values()].filter((r) => r.state === 'inflight');
  const byMember = new Map<string, RecordModel[]>();
  for (const rec of inflight) {
    const list = byMember.get(rec.member!) ?? [];
    list.push(rec);
    byMember.set(rec.member!, list);
    if (rec.leaseDueMs <= view.now) violations.push(`${at(rec.partition, rec.offset)}: lease due at ${rec.leaseDueMs} has not expired at ${view.now}`);
  }
  for (const [id, recs] of byMember) {
    const member = view.memberById(id);
    if (!member || member.gone) {
      violations.push(`${recs.length} in flight to ${id}, which is not a live member`);
      continue;
    }
    if (recs.length > member.maxInFlight) violations.push(`${member.label} holds ${recs.length} > maxInFlight ${member.maxInFlight}`);
    for (const rec of recs) {
      const has = view.held.some((h) => h.member === member && h.delivery.partition === rec.partition && h.delivery.offset === rec.offset
        && h.delivery.deliveryCount === rec.count && h.epoch === rec.epoch);
      // A lazy member's may wait unread in its queue.
      if (!has && member.style !== 'lazy') violations.push(`${at(rec.partition, rec.offset)} #${rec.count} in flight to ${member.label}, who never got it`);
    }
  }
  const dying = [...view.records.values()].filter((r) => r.state === 'dying' || r.orphanCopies > 0);
  if (dying.length > 0) violations.push(`still being dead-lettered on a quiet broker: ${dying.map((r) => at(r.partition, r.offset)).join(', ')}`);
  const description = hasGroup(view.broker) ? view.broker.describeGroup(TOPIC, GROUP) : undefined;
  for (const m of description?.members ?? []) {
    const held = byMember.get(m.id)?.length ?? 0;
    if (m.inFlight !== held) violations.push(`describeGroup: ${m.id} has ${m.inFlight} in flight, events say ${held}`);
  }
  for (const p of description?.partitions ?? []) {
    const engine = p.inFlight.map((f) => `${f.offset}@${f.member}#${f.deliveryCount}`).join(' ');
    const model = inflight.filter((r) => r.partition === p.partition).sort((a, b) => (a.offset < b.offset ? -1 : 1))
      .map((r) => `${r.offset}@${r.member}#${r.count}`).join(' ');
    if (engine !== model) violations.push(`partition ${p.partition}: describeGroup in flight [${engine}], events say [${model}]`);
    const lost = view.lostSinceOpen[p.partition] ?? 0n;
    if (p.lostToRetention !== lost) violations.push(`partition ${p.partition}: describeGroup lostToRetention ${p.lostToRetention}, events say ${lost}`);
    if (view.ordering === 'partition' && new Set(p.inFlight.map((f) => f.member)).size > 1) {
      violations.push(`partition ${p.partition} held by several members: ${engine}`);
    }
  }
}

/** The group exists once a member joined (in this run, on disk). */
export function hasGroup(broker: Broker): boolean {
  return broker.listGroups(TOPIC).some((g) => g.group === GROUP);
}

/**
 * After the drain: each dead-letter copy the events announced is in the dead-letter topic, in
 * order, as the record was, with its origin headers and that copy's deliveryCount; nothing else is.
 * A record is copied more than once only when a reset replayed it.
 */
export async function checkDeadLetters(broker: Broker, model: ReadonlyMap<string, RecordModel>, fail: (message: string) => never): Promise<void> {
  const dead = [...model.values()].filter((r) => r.deadLetterCounts.length > 0);
  const dlq = `${TOPIC}.dlq`;
  if (!broker.listTopics().includes(dlq)) {
    if (dead.length > 0) fail(`${dead.length} dead-lettered, but there is no ${dlq}`);
    return;
  }
  const found = new Map<string, number[]>();
  const records = await broker.fetch({ topic: dlq, partition: 0, offset: 0n, maxRecords: 10_000 });
  for (const record of records) {
    const header = (key: string) => {
      const value = record.headers.find((h) => h.key === key)?.value;
      return value ? utf8.decode(value) : undefined;
    };
    const where = at(Number(header(DEAD_LETTER_HEADERS.partition)), BigInt(header(DEAD_LETTER_HEADERS.offset) ?? -1));
    const rec = model.get(where);
    if (header(DEAD_LETTER_HEADERS.topic) !== TOPIC || header(DEAD_LETTER_HEADERS.group) !== GROUP || !rec) {
      fail(`dead letter ${record.offset} has wrong origin headers: ${JSON.stringify(record.headers.map((h) => h.key))}`);
    }
    const copies = found.get(where) ?? [];
    copies.push(Number(header(DEAD_LETTER_HEADERS.deliveryCount)));
    found.set(where, copies);
    if (utf8.decode(record.value!) !== rec.value || (record.key === null ? null : latin1.decode(record.key)) !== rec.key) {
      fail(`${where}: the dead letter's key or value differs from the record's`);
    }
  }
  for (const rec of model.values()) {
    const where = at(rec.partition, rec.offset);
    const inTopic = (found.get(where) ?? []).join(',');
    if (inTopic !== rec.deadLetterCounts.join(',')) fail(`${where}: ${dlq} holds copies with brook.delivery-count [${inTopic}], events announced [${rec.deadLetterCounts.join(',')}]`);
    if (rec.state === 'dead' && rec.deadLetterCounts.length === 0) fail(`${where} dead-lettered but not in ${dlq}`);
  }
}
