/**
 * The delivery harness's record model driven by the broker's events (test-only; see
 * delivery-model.ts): each event moves one record's state, and is first checked against what the
 * model says that record may do now (a delivery of a record that is not pending, a
 * deliveryCount that is not the previous one + 1, a key or partition order broken at that
 * moment...). Violations are collected, not thrown: a listener that throws would throw into the
 * engine.
 */
import type { Broker } from '../broker.js';
import type { BrokerEvents } from '../events.js';
import { GROUP, TOPIC, type Settings } from './delivery-commands.js';
import { at, latin1, type MemberModel, type RecordModel, type State } from './delivery-invariants.js';
import type { Ordering } from './subscribe-options.js';

type EventOf<E extends keyof BrokerEvents> = Parameters<BrokerEvents[E]>[0];

export class RecordTransitions {
  /** 'key': the offset last acked per key, which only grows. */
  private readonly lastAckedOfKey = new Map<string, bigint>();
  /** Per partition, what retention took from the group since the broker opened. */
  lostSinceOpen: bigint[] = [];
  /**
   * Per delivery (record, deliveryCount, member id), the record's epoch at each of its 'delivered'
   * events, oldest first: an iterator takes a delivery from its queue later, maybe after a reset.
   * Member ids are unique only while a broker runs: cleared at a restart.
   */
  readonly epochsAtDelivery = new Map<string, number[]>();

  constructor(
    private readonly records: Map<string, RecordModel>,
    private readonly violations: string[],
    private ordering: Ordering,
    private readonly now: () => number,
    private readonly memberById: (id: string) => MemberModel | undefined,
    private readonly settings: () => Settings,
  ) {}

  /** A reconfigure switched the group to `ordering`: what was acked before kept no order. */
  reorder(ordering: Ordering): void {
    this.ordering = ordering;
    this.lastAckedOfKey.clear();
  }

  private get maxDeliveries(): number {
    return this.settings().maxDeliveries;
  }

  delivered(partition: number, offset: bigint, member: string, deliveryCount: number, redelivered: boolean, key: Uint8Array | null): void {
    const where = at(partition, offset);
    const rec = this.records.get(where);
    if (!rec) return void this.violations.push(`delivered unknown ${where}`);
    const v = (message: string) => this.violations.push(`delivery of ${where}#${deliveryCount} to ${member}: ${message}`);
    if (rec.state !== 'pending') v(`the record is ${rec.state}`);
    if (deliveryCount !== rec.count + 1) v(`deliveryCount after ${rec.count} deliveries`);
    if (deliveryCount > this.maxDeliveries && !rec.attemptOwed) v(`more than maxDeliveries ${this.maxDeliveries}, its last delivery not taken back by a go-back or a rebalance`);
    if (redelivered !== deliveryCount > 1) v(`redelivered is ${redelivered}`);
    if ((key === null ? null : latin1.decode(key)) !== rec.key) v(`key differs`);
    if (this.now() < rec.notBeforeMs) v(`before its backoff ends at ${rec.notBeforeMs} (now ${this.now()})`);
    const to = this.memberById(member);
    if (to && (to.gone || to.closing)) v(`the member is ${to.gone ? 'gone' : 'closing'}`);
    this.checkOrder(rec, member, v);
    rec.state = 'inflight';
    rec.count = deliveryCount;
    rec.member = member;
    rec.leaseDueMs = this.now() + this.settings().ackTimeoutMs;
    const delivery = deliveryKey(partition, offset, deliveryCount, member);
    this.epochsAtDelivery.set(delivery, [...(this.epochsAtDelivery.get(delivery) ?? []), rec.epoch]);
  }

  /** The epoch of the oldest delivery of (record, deliveryCount, member) not yet taken; undefined if none. */
  takeEpochAtDelivery(partition: number, offset: bigint, deliveryCount: number, member: string | undefined): number | undefined {
    return this.epochsAtDelivery.get(deliveryKey(partition, offset, deliveryCount, member))?.shift();
  }

  acked(e: EventOf<'acked'>): void {
    const rec = this.expectInFlight('acked', e.partition, e.offset, e.member, e.deliveryCount);
    if (!rec) return;
    rec.state = 'acked';
    if (this.ordering !== 'key' || rec.key === null) return;
    const last = this.lastAckedOfKey.get(rec.key);
    if (last !== undefined && last >= rec.offset) this.violations.push(`key ${rec.key}: ${at(rec.partition, rec.offset)} acked after offset ${last}`);
    this.lastAckedOfKey.set(rec.key, rec.offset);
  }

  leaseExpired(e: EventOf<'leaseExpired'>): void {
    const rec = this.records.get(at(e.partition, e.offset));
    if (rec && rec.leaseDueMs > this.now()) this.violations.push(`${at(e.partition, e.offset)}: lease expired at ${this.now()}, due ${rec.leaseDueMs}`);
    this.failed('leaseExpired', e.partition, e.offset, e.member, e.deliveryCount);
  }

  /** nacked or leaseExpired: redelivered later, or dead-lettered if that was the last attempt. */
  failed(what: string, partition: number, offset: bigint, member: string, deliveryCount: number): void {
    const rec = this.expectInFlight(what, partition, offset, member, deliveryCount);
    if (!rec) return;
    rec.state = rec.count >= this.maxDeliveries ? 'dying' : 'pending';
    rec.member = undefined;
    rec.attemptOwed = false;
  }

  redelivered(e: EventOf<'redelivered'>): void {
    const rec = this.records.get(at(e.partition, e.offset));
    if (!rec) return void this.violations.push(`redelivered unknown ${at(e.partition, e.offset)}`);
    if (e.reason === 'unsent') {
      this.givenBackUnsent(rec);
    } else if (e.reason === 'nack' || e.reason === 'leaseExpired') {
      if (rec.state !== 'pending') this.violations.push(`${at(e.partition, e.offset)} redelivered (${e.reason}) while ${rec.state}`);
      if (rec.askedDelayMs !== undefined && e.delayMs !== rec.askedDelayMs) {
        this.violations.push(`${at(e.partition, e.offset)}: nack({ delayMs: ${rec.askedDelayMs} }) got a backoff of ${e.delayMs}`);
      }
    } else {
      if (rec.state !== 'inflight') this.violations.push(`${at(e.partition, e.offset)} taken back (${e.reason}) while ${rec.state}`);
      // Its member leaving is a failed attempt; a go-back or a rebalance is not (takenBack).
      const failed = e.reason === 'memberLeft';
      if (failed && rec.count >= this.maxDeliveries) this.violations.push(`${at(e.partition, e.offset)}: its member left on its last attempt #${rec.count}, not dead-lettered`);
      rec.state = 'pending';
      rec.member = undefined;
      rec.attemptOwed = !failed;
    }
    if (e.nextDeliveryCount !== rec.count + 1) this.violations.push(`${at(e.partition, e.offset)}: nextDeliveryCount ${e.nextDeliveryCount} after ${rec.count} deliveries`);
    rec.askedDelayMs = undefined;
    rec.notBeforeMs = this.now() + e.delayMs;
  }

  /**
   * Its current delivery never reached its member (an iterator's queue held it unread): no
   * attempt, so the record is owed as before it, and next() skips it, so the loop will never
   * take its epoch. It was the record's latest delivery: the last one of its key.
   */
  private givenBackUnsent(rec: RecordModel): void {
    // 'dying': a take-back guessed it was the last attempt (takenBack), before this event said otherwise.
    if (rec.state !== 'inflight' && !(rec.state === 'dying' && !rec.rejected)) {
      return void this.violations.push(`${at(rec.partition, rec.offset)} given back unsent while ${rec.state}`);
    }
    this.epochsAtDelivery.get(deliveryKey(rec.partition, rec.offset, rec.count, rec.member))?.pop();
    rec.state = 'pending';
    rec.count -= 1;
    rec.member = undefined;
  }

  /** What a partition's old owner held there was taken back first, whatever its deliveryCount ('redelivered' events). */
  rebalanced(e: EventOf<'rebalanced'>): void {
    for (const r of this.records.values()) {
      if (r.state !== 'inflight' || e.assignment[r.member!]?.includes(r.partition)) continue;
      this.violations.push(`rebalance moved partition ${r.partition} away from ${r.member}, which still holds ${at(r.partition, r.offset)}`);
    }
  }

  deadLettered(e: EventOf<'deadLettered'>): void {
    const rec = this.records.get(at(e.partition, e.offset));
    if (!rec) return void this.violations.push(`dead-lettered unknown ${at(e.partition, e.offset)}`);
    const where = at(e.partition, e.offset);
    rec.deadLetterCounts.push(e.deliveryCount);
    // A copy begun before a reset or retention passed over the record: it is still made, and
    // decides nothing (the copies begin and end in order, so this is the oldest).
    if (rec.orphanCopies > 0) return void (rec.orphanCopies -= 1);
    if (rec.mayBeCopying) {
      rec.mayBeCopying = false;
      // Passed over with no attempt left, its copy (if it began) was an interrupted one: a copy
      // for another reason means it never began, and this one decides the record.
      if (e.reason.startsWith('interrupted ')) return;
    }
    // A record read back after a restart (or a reconfigure lowering maxDeliveries) with no attempt
    // left goes from pending to the DLQ, unless one is owed. A 'dying' one had none left when it
    // failed (failed(), takenBack()).
    const exhausted = rec.state === 'pending' && rec.count >= this.maxDeliveries && !rec.attemptOwed && e.reason.startsWith('interrupted ');
    if (rec.state !== 'dying' && !exhausted) this.violations.push(`${where} dead-lettered while ${rec.state}: ${e.reason}`);
    if (e.deliveryCount !== rec.count) this.violations.push(`${where} dead-lettered with deliveryCount ${e.deliveryCount} after ${rec.count} deliveries`);
    if (rec.rejected !== e.reason.startsWith('rejected')) this.violations.push(`${where}: reason ${JSON.stringify(e.reason)}`);
    if (e.deadLetterTopic !== `${TOPIC}.dlq`) this.violations.push(`${where}: dead-letter topic ${e.deadLetterTopic}`);
    rec.state = 'dead';
    rec.member = undefined;
  }

  /**
   * Retention deleted the records of a partition below `startOffset`: the group lost exactly those
   * it still owed (not acked, dead-lettered or skipped by a reset), in flight and being copied included.
   */
  retentionDropped(e: EventOf<'retentionDropped'>): void {
    const owed = [...this.records.values()].filter((r) => r.partition === e.partition && r.offset < e.startOffset && isOwed(r));
    if (BigInt(owed.length) !== e.lostRecords) {
      this.violations.push(`partition ${e.partition}: retention to ${e.startOffset} lost ${e.lostRecords}, the group owed ${owed.map((r) => at(r.partition, r.offset)).join(' ') || 'none'}`);
    }
    for (const rec of owed) this.passOver(rec, 'lost');
    this.lostSinceOpen[e.partition] = (this.lostSinceOpen[e.partition] ?? 0n) + e.lostRecords;
  }

  /**
   * A reset moved partition p to offsets[p]: what is below is skipped, what is at or after it is
   * owed again from its first attempt; every delivery held becomes stale.
   */
  reset(offsets: readonly bigint[]): void {
    for (const rec of this.records.values()) {
      rec.epoch += 1;
      if (rec.state === 'lost') continue;
      if (rec.offset < offsets[rec.partition]!) {
        if (isOwed(rec)) this.passOver(rec, 'skipped');
        continue;
      }
      this.passOver(rec, 'pending');
      Object.assign(rec, { count: 0, notBeforeMs: 0, askedDelayMs: undefined, rejected: false, attemptOwed: false });
    }
    this.lastAckedOfKey.clear();
  }

  /** The group no longer decides `rec` as it did: a copy being made goes on, as an orphan. */
  private passOver(rec: RecordModel, state: State): void {
    if (rec.state === 'dying') rec.orphanCopies += 1;
    if (rec.state === 'pending' && rec.count >= this.maxDeliveries && !rec.attemptOwed) rec.mayBeCopying = true;
    rec.state = state;
    rec.member = undefined;
  }

  /** 'key': no other record of the key in flight or before it unacked; 'partition': offset order, one member. */
  private checkOrder(rec: RecordModel, member: string, v: (message: string) => void): void {
    const others = [...this.records.values()].filter((r) => r !== rec && r.partition === rec.partition);
    if (this.ordering === 'key' && rec.key !== null) {
      for (const r of others) {
        if (r.key !== rec.key) continue;
        if (r.state === 'inflight' || r.state === 'dying') v(`${at(r.partition, r.offset)} of key ${rec.key} is ${r.state}`);
        else if (r.offset < rec.offset && r.state === 'pending') v(`earlier ${at(r.partition, r.offset)} of key ${rec.key} is not acked`);
      }
    }
    if (this.ordering === 'partition') {
      for (const r of others) {
        if (r.state === 'inflight' && r.member !== member) v(`${at(r.partition, r.offset)} is in flight to ${r.member}`);
        else if (r.state === 'inflight' && r.offset > rec.offset) v(`later ${at(r.partition, r.offset)} is still in flight: not offset order`);
        // (One with no attempt left and none owed, after a restart, is dead-lettered when its turn comes.)
        else if (r.state === 'pending' && r.offset < rec.offset && (r.count < this.maxDeliveries || r.attemptOwed)) v(`earlier ${at(r.partition, r.offset)} is pending: not offset order`);
      }
    }
  }

  private expectInFlight(what: string, partition: number, offset: bigint, member: string, deliveryCount: number): RecordModel | undefined {
    const rec = this.records.get(at(partition, offset));
    const where = at(partition, offset);
    if (!rec) return void this.violations.push(`${what} unknown ${where}`);
    if (rec.state !== 'inflight' || rec.member !== member || rec.count !== deliveryCount) {
      this.violations.push(`${what} ${where}@${member}#${deliveryCount}, but it is ${rec.state}@${rec.member}#${rec.count}`);
      return undefined;
    }
    return rec;
  }

  /**
   * The engine takes `rec` back because its member left: a failed attempt, so a 'redelivered'
   * event follows, unless it was on its last attempt: then it is dead-lettered, unless it never
   * reached its member ('unsent'), which only that event tells, so the member stays. (A go-back or
   * a rebalance always says so by a 'redelivered' event: it is no failure, and the next attempt is owed.)
   */
  takenBack(rec: RecordModel): void {
    if (rec.count < this.maxDeliveries) return;
    rec.state = 'dying';
  }
}

/** What the harness does around the model's transitions. */
export interface ListenHooks {
  /** Records appended to a partition of the topic (before any event of their delivery). */
  produced(partition: number, baseOffset: bigint, records: number): void;
  /** Before each event of the group reaches the model. */
  beforeGroupEvent(): void;
  /** A reset applied, before the model applies it. */
  reset(offsets: readonly bigint[]): void;
}

/** Drives `t` by the broker's events of the topic and group; returns what stops listening. */
export function listenTo(broker: Broker, t: RecordTransitions, hooks: ListenHooks): () => void {
  const on = <E extends keyof BrokerEvents>(name: E, listener: BrokerEvents[E]) => {
    const wrapped = ((event: { topic: string; group?: string }) => {
      if (event.topic !== TOPIC || event.group !== GROUP) return;
      hooks.beforeGroupEvent();
      (listener as (e: typeof event) => void)(event);
    }) as BrokerEvents[E];
    broker.on(name, wrapped as never);
    return () => broker.off(name, wrapped as never);
  };
  const produced: BrokerEvents['produced'] = (e) => {
    if (e.topic === TOPIC) hooks.produced(e.partition, e.baseOffset, e.records);
  };
  broker.on('produced', produced);
  const offs = [
    () => broker.off('produced', produced),
    on('delivered', (e) => t.delivered(e.partition, e.offset, e.member, e.deliveryCount, e.redelivered, e.key)),
    on('acked', (e) => t.acked(e)),
    on('nacked', (e) => t.failed('nacked', e.partition, e.offset, e.member, e.deliveryCount)),
    on('leaseExpired', (e) => t.leaseExpired(e)),
    on('redelivered', (e) => t.redelivered(e)),
    on('rebalanced', (e) => t.rebalanced(e)),
    on('retentionDropped', (e) => t.retentionDropped(e)),
    on('deadLettered', (e) => t.deadLettered(e)),
    on('groupReset', (e) => {
      hooks.reset(e.offsets);
      t.reset(e.offsets);
    }),
  ];
  return () => offs.forEach((off) => off());
}

/** Not yet acked, dead-lettered, skipped or lost: the group still owes the record a delivery (or a copy). */
export function isOwed(rec: RecordModel): boolean {
  return rec.state === 'pending' || rec.state === 'inflight' || rec.state === 'dying';
}

function deliveryKey(partition: number, offset: bigint, deliveryCount: number, member: string | undefined): string {
  return `${at(partition, offset)}#${deliveryCount}@${member}`;
}
