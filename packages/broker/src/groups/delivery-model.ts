/**
 * The model and harness behind delivery.property.test.ts (test-only).
 *
 * `DeliveryHarness` runs one command list against a memory broker on a VirtualClock and keeps a
 * model of every produced record, built from the broker's events:
 *
 *   pending   not in flight: never delivered, backing off, blocked, taken back or given back unsent
 *   inflight  delivered and current: the attempt the group waits on (member, deliveryCount, lease)
 *   dying     failed for the last time, or rejected: being copied to the dead-letter topic
 *   acked / dead
 *   skipped   below where a reset moved the group, or where it started: not owed
 *   lost      deleted by retention while owed (retentionDropped)
 *
 * Every event is checked against the model as it happens (delivery-transitions.ts: a delivery of
 * a record that is not pending, a deliveryCount that is not the previous one + 1, a key or
 * partition order broken at that moment...). Violations are collected, not thrown, because a
 * listener that throws would throw into the engine; `check()` reports them after each command,
 * together with the invariants of a quiet broker (flow control, leases, what members hold,
 * describeGroup; delivery-invariants.ts).
 */
import { partitionForKey } from '@brook/protocol';
import type { Broker } from '../broker.js';
import type { Delivery } from './delivery.js';
import {
  GROUP, KEYS, RETENTION_MAX_AGE_MS, SEGMENT_MS_MAX, SETTINGS, TOPIC, type Action, type Command, type Scenario, type Settings,
} from './delivery-commands.js';
import { at, checkDeadLetters, checkQuietBroker, hasGroup, idOf, isLive, type Held, type MemberModel, type RecordModel } from './delivery-invariants.js';
import { expectFailure, ResetsUnderWay, sameSettings, skipBelowStart } from './delivery-admin.js';
import { expectAckTook, settleHeld, type AckedDelivery } from './delivery-settle.js';
import { isOwed, listenTo, RecordTransitions } from './delivery-transitions.js';
import { engineFixture, type EngineFixture } from './group-fixture.js';
import type { Ordering, SubscribeOptions } from './subscribe-options.js';

export class DeliveryHarness {
  private readonly records = new Map<string, RecordModel>();
  private members: MemberModel[] = [];
  private held: Held[] = [];
  private readonly violations: string[] = [];
  private readonly resets = new ResetsUnderWay(this.violations);
  private activity = 0;
  private joined = 0;
  private produced = 0;
  /** Per partition, the records of the produce call under way, in order. */
  private readonly producing: { key: string | null; value: string; timestamp: number }[][] = [];
  /** The group's settings: the scenario's, until a reconfigure changes them. */
  private settings: Settings = SETTINGS;
  /** A join is creating the group: see noticeGroupCreated. */
  private creatingGroup = false;
  private detach: (() => void) | undefined;
  readonly trace: string[] = [];

  private readonly transitions: RecordTransitions;

  private constructor(private readonly fixture: EngineFixture, private ordering: Ordering, private readonly partitions: number) {
    this.transitions = new RecordTransitions(this.records, this.violations, ordering, () => this.now, (id) => this.memberById(id), () => this.settings);
  }

  static async open(ordering: Ordering, scenario: Scenario): Promise<DeliveryHarness> {
    // The smallest journal (LIMITS.groupJournalBytesMax.min): its segments roll and it compacts
    // within a scenario, so restarts land before, during and after compactions.
    const windowLimit = scenario.unackedRecordsMax === undefined ? {} : { groupUnackedRecordsMax: scenario.unackedRecordsMax };
    const fixture = await engineFixture({ fsync: 'always', seed: scenario.seed, groupJournalBytesMax: 4096, ...windowLimit });
    await fixture.broker.createTopic(TOPIC, {
      partitions: scenario.partitions, segmentMsMax: SEGMENT_MS_MAX, retention: { maxAgeMs: RETENTION_MAX_AGE_MS },
    });
    const harness = new DeliveryHarness(fixture, ordering, scenario.partitions);
    harness.listen(fixture.broker);
    return harness;
  }

  private get broker(): Broker {
    return this.fixture.broker;
  }

  private get now(): number {
    return this.fixture.clock.now();
  }

  /** Runs one command; unless it runs `together` with the next, waits until all it started is done and checks. */
  async run(command: Command): Promise<void> {
    this.trace.push(JSON.stringify(command));
    let acked: AckedDelivery | undefined;
    switch (command.kind) {
      case 'produce': await this.produce(command.keys); break;
      case 'join': await this.join(command.maxInFlight, command.style); break;
      case 'settle': acked = this.settle(command.pick, command.action); break;
      case 'crash': this.leave(command.pick, false); break;
      case 'close': this.leave(command.pick, true); break;
      case 'read': this.readOne(command.pick); break;
      case 'advance': await this.fixture.advance(command.ms); break;
      case 'restart': await this.restart(); break;
      case 'reset': this.resets.start(this.broker, this.records, command.to, this.now); break;
      case 'reconfigure': await this.reconfigure(command); break;
      case 'retain': await this.broker.enforceRetention(); break;
    }
    if (command.together) return;
    await this.resets.settled();
    await this.quiesce();
    if (acked) expectAckTook(acked, this.violations);
    this.check();
  }

  // ---- commands ----

  /**
   * The model learns of the records from the 'produced' event (which comes before any delivery
   * of them), so it computes where each one goes: murmur2 of the key, or the explicit partition.
   */
  private async produce(keys: (number | null)[]): Promise<void> {
    const inputs = keys.map((k, i) => {
      const value = `v${this.produced++}`;
      // The broker stamps a produce's records with its clock's now, at the call.
      const timestamp = this.now;
      if (k === null) return { key: null, value, timestamp, partition: i % this.partitions };
      const key = KEYS[k]!;
      return { key, value, timestamp, partition: partitionForKey(new TextEncoder().encode(key), this.partitions) };
    });
    for (let p = 0; p < this.partitions; p++) this.producing[p] = inputs.filter((input) => input.partition === p);
    await this.broker.produce(TOPIC, inputs.map(({ key, value, partition }) => (key === null ? { key, value, partition } : { key, value })));
  }

  private onProduced(partition: number, baseOffset: bigint, records: number): void {
    const inputs = this.producing[partition] ?? [];
    if (inputs.length !== records) return void this.violations.push(`produced ${records} records to ${partition}, expected ${inputs.length}`);
    inputs.forEach((input, i) => {
      const offset = baseOffset + BigInt(i);
      this.records.set(at(partition, offset), {
        partition, offset, key: input.key, value: input.value, timestamp: input.timestamp, state: 'pending', count: 0, attemptOwed: false, member: undefined,
        leaseDueMs: 0, notBeforeMs: 0, askedDelayMs: undefined, rejected: false, epoch: 0, orphanCopies: 0, mayBeCopying: false,
        deadLetterCounts: [],
      });
    });
    this.producing[partition] = [];
  }

  private async join(maxInFlight: number, style: MemberModel['style']): Promise<void> {
    const member: MemberModel = {
      label: `c${this.joined++}`, style, maxInFlight, sub: undefined, loop: undefined, id: undefined, closing: false, leaving: false, gone: false,
    };
    this.members.push(member);
    this.creatingGroup ||= !hasGroup(this.broker);
    await this.subscribe(member);
    if (!this.creatingGroup) return;
    await this.fixture.settle(() => hasGroup(this.broker));
    this.noticeGroupCreated();
  }

  /**
   * The new group starts where the topic started when it was created: what retention deleted
   * before was never its. Noticed at its first event, or once the join that creates it is done;
   * nothing else runs until then (retention runs only in a `retain`), so its start is still there.
   */
  private noticeGroupCreated(): void {
    if (!this.creatingGroup) return;
    this.creatingGroup = false;
    skipBelowStart(this.broker, this.records);
  }

  private async subscribe(member: MemberModel): Promise<void> {
    const options: SubscribeOptions = {
      topic: TOPIC, group: GROUP, ordering: this.ordering, maxInFlight: member.maxInFlight,
      ...this.settings, name: member.label,
    };
    if (member.style === 'handler') {
      member.sub = await this.broker.subscribe(options, (delivery) => new Promise<void>((resolve, reject) => {
        this.held.push({ delivery, member, epoch: this.epochOf(delivery), resolve, reject });
        this.activity += 1;
      }));
    } else {
      const stream = this.broker.consume(options);
      member.sub = stream;
      member.loop = stream[Symbol.asyncIterator]();
      if (member.style === 'iterator') this.readAll(member);
    }
  }

  /** An iterator's loop: reads each delivery as it comes (a lazy member's, from the drain on). */
  private readAll(member: MemberModel): void {
    const loop = member.loop!;
    void (async () => {
      for await (const delivery of { [Symbol.asyncIterator]: () => loop }) this.took(member, delivery);
    })().catch((error: unknown) => this.violations.push(`${member.label}: consume loop failed: ${String(error)}`));
  }

  /** A lazy member's loop reads one delivery (or waits for the next). */
  private readOne(pick: number): void {
    const lazy = this.members.filter((m) => isLive(m) && m.style === 'lazy' && m.loop);
    const member = lazy[pick % lazy.length];
    member?.loop!.next().then(
      (result) => result.done || this.took(member, result.value),
      (error: unknown) => this.violations.push(`${member.label}: next() failed: ${String(error)}`),
    );
  }

  /** The loop took `delivery` from the member's queue: it belongs to the epoch of its 'delivered' event. */
  private took(member: MemberModel, delivery: Delivery): void {
    this.activity += 1;
    const epoch = this.transitions.takeEpochAtDelivery(delivery.partition, delivery.offset, delivery.deliveryCount, idOf(member));
    // next() skips what was given back unsent: a loop reads only what was announced and is still its.
    if (epoch === undefined) {
      return void this.violations.push(`${member.label} read ${at(delivery.partition, delivery.offset)}#${delivery.deliveryCount}, given back unsent or never announced`);
    }
    this.held.push({ delivery, member, epoch });
  }

  /**
   * A delivery is handed out right after its 'delivered' event, so it belongs to the record's epoch
   * then: a handler is called at once; an iterator's delivery is looked up (takeEpochAtDelivery).
   */
  private epochOf(delivery: Delivery): number {
    return this.records.get(at(delivery.partition, delivery.offset))?.epoch ?? -1;
  }

  /** A stream knows its member id once it joined: look it up when needed. */
  private memberById(id: string): MemberModel | undefined {
    return this.members.find((m) => idOf(m) === id);
  }

  /** Settles a held delivery (delivery-settle.ts); if that acked the current delivery, returns which (to check it took). */
  private settle(pick: number, action: Action): AckedDelivery | undefined {
    if (this.held.length === 0) return undefined;
    const index = pick % this.held.length;
    const held = this.held[index]!;
    const { delivery } = held;
    const rec = this.records.get(at(delivery.partition, delivery.offset))!;
    const current = this.isCurrent(held);
    if (delivery.stale === current) this.violations.push(`${at(delivery.partition, delivery.offset)}#${delivery.deliveryCount}: stale is ${delivery.stale}, the model says current ${current}`);
    if (action.type !== 'extend') this.held.splice(index, 1);
    return settleHeld(held, action, { rec, current, now: this.now, ackTimeoutMs: this.settings.ackTimeoutMs, violations: this.violations });
  }

  private leave(pick: number, graceful: boolean): void {
    const live = this.members.filter(isLive);
    if (live.length === 0) return;
    const member = live[pick % live.length]!;
    if (member.sub?.memberId === undefined) return; // still joining
    if (graceful && member.style === 'handler') {
      // Nothing new for it; it leaves once what it holds is settled (or taken back).
      member.closing = true;
      void member.sub.close().then(() => (member.gone = true));
    } else {
      // abort(), and an iterator's close(): leaves at once, what it holds comes again.
      member.leaving = true;
      if (graceful) void member.sub.close();
      else member.sub.abort();
      this.syncLeft();
    }
  }

  /**
   * Notices members that asked to leave and are gone from the group. What they held is taken back
   * (a failed attempt): 'redelivered' events follow, except for records on their last attempt,
   * which are dead-lettered with no event before 'deadLettered' — so the model marks those here.
   */
  private syncLeft(): void {
    const leaving = this.members.filter((m) => m.leaving);
    if (leaving.length === 0) return;
    const present = new Set(this.broker.describeGroup(TOPIC, GROUP).members.map((m) => m.id));
    for (const member of leaving) {
      if (present.has(idOf(member)!)) continue;
      member.leaving = false;
      member.gone = true;
      for (const rec of this.records.values()) if (rec.state === 'inflight' && rec.member === member.id) this.transitions.takenBack(rec);
    }
  }

  /** Power cut (fsync 'always') and a new broker on the same disk; the members subscribe again. */
  private async restart(): Promise<void> {
    await this.resets.settled();
    await this.quiesce();
    this.detach?.();
    const broker = await this.fixture.restart();
    // What was in flight comes back; backoffs and owed attempts are not durable: gone.
    for (const rec of this.records.values()) {
      if (!isOwed(rec)) continue;
      rec.state = 'pending';
      rec.member = undefined;
      rec.notBeforeMs = 0;
      rec.attemptOwed = false;
    }
    this.held = [];
    this.transitions.lostSinceOpen = [];
    this.transitions.epochsAtDelivery.clear();
    this.members = this.members.filter(isLive);
    this.listen(broker);
    // They reconnect all at once.
    await Promise.all(this.members.map((member) => {
      member.id = undefined;
      return this.subscribe(member);
    }));
  }

  /**
   * A member joins with `settings`; with `evict`, every live member crashes first. A group with
   * members (some may be closing) refuses other settings with INVALID_CONFIG; one without takes
   * them (a reconfigure): backoffs end, attempt counts stay.
   */
  private async reconfigure(command: Extract<Command, { kind: 'reconfigure' }>): Promise<void> {
    await this.quiesce();
    if (command.evict) {
      for (const member of this.members.filter(isLive)) {
        member.leaving = true;
        member.sub!.abort();
      }
      await this.quiesce();
    }
    this.syncLeft();
    const ordering = command.ordering ?? this.ordering;
    if (!sameSettings(command.settings, this.settings) || ordering !== this.ordering) {
      if (this.members.some((m) => !m.gone)) {
        const joining = this.broker.subscribe({ topic: TOPIC, group: GROUP, ordering, ...command.settings }, () => undefined);
        return expectFailure(joining.then((sub) => sub.abort()), 'INVALID_CONFIG', 'a join with other settings while members are connected', this.violations);
      }
      this.settings = command.settings;
      this.ordering = ordering;
      this.transitions.reorder(ordering);
      // Read again by the group: backoffs end, owed attempts are forgotten.
      for (const rec of this.records.values()) if (rec.state === 'pending') Object.assign(rec, { notBeforeMs: 0, attemptOwed: false });
    }
    await this.join(command.maxInFlight, command.style);
  }

  /**
   * Acks everything current, with a member present, and lets time pass until the group has no
   * lag; then checks that every record was acked or dead-lettered, and the dead-letter topic.
   */
  async drain(): Promise<void> {
    this.trace.push('drain');
    await this.quiesce();
    if (!this.members.some(isLive)) await this.join(5, 'handler');
    // The group drains only through loops that read.
    for (const member of this.members) if (isLive(member) && member.style === 'lazy') this.readAll(member);
    for (let round = 0; round < 200; round++) {
      for (const held of [...this.held]) {
        if (!this.isCurrent(held)) continue;
        this.held.splice(this.held.indexOf(held), 1);
        if (held.resolve) held.resolve();
        else void held.delivery.ack();
      }
      await this.quiesce();
      this.check();
      if (this.broker.describeGroup(TOPIC, GROUP).lag === 0n) break;
      await this.fixture.advance(250);
      await this.quiesce();
    }
    const lag = this.broker.describeGroup(TOPIC, GROUP).lag;
    if (lag !== 0n) this.fail(`drain: lag is still ${lag}`);
    const owed = [...this.records.values()].filter(isOwed);
    if (owed.length > 0) this.fail(`lost: ${owed.map((r) => `${at(r.partition, r.offset)} (${r.state})`).join(', ')}`);
    await checkDeadLetters(this.broker, this.records, (message) => this.fail(message));
  }

  // ---- invariants ----

  /** Throws with every violation seen since the last check, and those of the quiet broker now. */
  check(): void {
    this.syncLeft();
    checkQuietBroker({
      broker: this.broker, records: this.records, held: this.held, now: this.now, ordering: this.ordering, lostSinceOpen: this.transitions.lostSinceOpen,
      memberById: (id) => this.memberById(id),
    }, this.violations);
    if (this.violations.length > 0) this.fail(this.violations.join('\n'));
  }

  private fail(message: string): never {
    throw new Error(`${message}\ntrace:\n  ${this.trace.join('\n  ')}`);
  }

  private isCurrent(held: Held): boolean {
    this.syncLeft();
    const rec = this.records.get(at(held.delivery.partition, held.delivery.offset))!;
    return rec.state === 'inflight' && !held.member.gone && rec.member === idOf(held.member) && rec.count === held.delivery.deliveryCount
      && rec.epoch === held.epoch;
  }

  /** Lets everything started finish: turns of the event loop (no time passing) until nothing changes. */
  private async quiesce(): Promise<void> {
    let quietTurns = 0;
    for (let turn = 0; turn < 100 && quietTurns < 2; turn++) {
      const before = this.activity;
      await this.fixture.clock.advanceAsync(0);
      quietTurns = this.activity === before ? quietTurns + 1 : 0;
    }
    // A copy that may have begun has ended by now, if it began.
    for (const rec of this.records.values()) rec.mayBeCopying = false;
  }

  // ---- events: the model, checked as it changes (delivery-transitions.ts) ----

  private listen(broker: Broker): void {
    this.detach = listenTo(broker, this.transitions, {
      produced: (partition, baseOffset, records) => this.onProduced(partition, baseOffset, records),
      beforeGroupEvent: () => {
        this.activity += 1;
        this.noticeGroupCreated();
        this.syncLeft();
      },
      reset: (offsets) => this.resets.applied(this.broker, this.records, offsets),
    });
  }
}

