/**
 * One simulation run: the world (a real memory broker on virtual time), the consumers, the
 * producer steps and the fault plan, driven until everything is quiescent or time runs out.
 *
 * Time moves only when everything is idle: the loop lets every queued continuation run (a settle
 * of the real event loop, the virtual clock standing still), then jumps to the next timer, of the
 * broker, a handler or the plan. Hours of leases and backoff take milliseconds.
 */
import { assert, tearLastWrite, type Random, type Timer, type VirtualClock } from '@brook/protocol';
import type { Broker, ProduceResult } from '../broker.js';
import type { BrokerEvents } from '../events.js';
import type { Delivery } from '../groups/delivery.js';
import type { ProduceRecord } from '../topics/record-input.js';
import { SimConsumer, type ConsumerHost, type ConsumerSpec } from './consumer.js';
import { DEFAULT_TORN_BYTES, describeFault, triggerMatches, type DeliveryFacts, type Fault, type FaultPlan } from './fault-plan.js';
import { History, SIM_ID_HEADER, type EndReason, type RecordPlace } from './history.js';
import { SimProducers, type ProduceStep } from './producers.js';
import type { World } from './world.js';

export type { ProduceStep } from './producers.js';

/**
 * An operator's action at a virtual time: reset a group (a replay), run retention, redrive a
 * dead-letter topic, look at the broker. What `run` returns (a line or lines) goes into the
 * history as notes.
 */
export interface AdminStep {
  atMs: number;
  /** What the step does, for the history: `reset group wc to earliest`. */
  what: string;
  /** `startMs`: the virtual clock's time at the start of the run, to name a time as a timestamp. */
  run(broker: Broker, at: { startMs: number }): unknown;
}

/** What a run plays: the producers' steps, the consumers, the fault plan and the admin steps. */
export interface Script {
  produce: readonly ProduceStep[];
  consumers: readonly ConsumerSpec[];
  plan: FaultPlan;
  admin: readonly AdminStep[];
}

export interface SimulationLimits {
  maxVirtualTimeMs: number;
  maxTimers: number;
  latencyMs: readonly [number, number];
  /** Every this many ms of virtual time (at the first timer at or after it), each group's lag goes into the history. */
  lagSampleEveryMs: number | undefined;
}

const utf8 = new TextDecoder();

export class Simulation implements ConsumerHost {
  readonly history: History;
  readonly consumers: SimConsumer[];
  /** The groups the consumers form, each with its topic. */
  readonly groups: readonly { readonly group: string; readonly topic: string }[];
  brokerEpoch = 0;
  private readonly fired = new Set<number>();
  private readonly idAt = new Map<string, string>();
  private readonly producers: SimProducers;
  private readonly plan: FaultPlan;
  private pendingActions = 0;
  /** Restarts run one after the other: two at one instant must not open the same disk twice. */
  private restarting: Promise<void> = Promise.resolve();
  private deliveries = 0;
  private failure: unknown;
  private detach: (() => void) | undefined;

  constructor(private readonly world: World, private readonly script: Script, private readonly limits: SimulationLimits, randoms: () => Random) {
    this.history = new History(world.clock, world.clock.now());
    this.plan = script.plan;
    this.producers = new SimProducers(this, script.produce);
    this.consumers = script.consumers.map((spec) => new SimConsumer(spec, this, randoms()));
    const groups = new Map(script.consumers.map(({ subscribe }) => [`${subscribe.topic}\u0000${subscribe.group}`, { group: subscribe.group, topic: subscribe.topic }]));
    this.groups = [...groups.values()];
    this.listen(world.broker);
  }

  get broker(): Broker {
    return this.world.broker;
  }

  get latencyMs(): readonly [number, number] {
    return this.limits.latencyMs;
  }

  private get clock(): VirtualClock {
    return this.world.clock;
  }

  clockNow(): number {
    return this.clock.now();
  }

  /** Runs to quiescence (or a limit); returns why it stopped. A failure of the kit itself is thrown. */
  async run(): Promise<EndReason> {
    // Same-instant timers fire in scheduling order: records exist, then faults act, then the
    // operator, then consumers join.
    this.producers.start((work) => this.watch(work));
    this.plan.forEach((fault, index) => {
      if ('atMs' in fault.trigger) this.later(fault.trigger.atMs, () => this.fire(index, fault));
    });
    for (const step of this.script.admin) this.later(step.atMs, () => this.administer(step));
    for (const consumer of this.consumers) this.later(consumer.spec.joinAtMs ?? 0, () => consumer.join());
    // Elapsed virtual time, on the reading the timers are due on (nextTimerAtMs).
    const startMs = this.clock.monotonicMs();
    const deadline = startMs + this.limits.maxVirtualTimeMs;
    let nextSampleMs = startMs;
    for (let timers = 0; ;) {
      await this.clock.advanceAsync(0);
      if (this.failure) throw this.failure;
      const every = this.limits.lagSampleEveryMs;
      if (every !== undefined && this.clock.monotonicMs() >= nextSampleMs) {
        this.sampleLag();
        nextSampleMs = startMs + (Math.floor((this.clock.monotonicMs() - startMs) / every) + 1) * every;
      }
      const next = this.clock.nextTimerAtMs();
      const reason: EndReason | undefined = this.quiescent() ? 'quiescent' : next === undefined ? 'idle'
        : next > deadline ? 'timeLimit' : timers >= this.limits.maxTimers ? 'stepLimit' : undefined;
      if (reason) {
        this.history.record({ type: 'end', reason });
        this.detach?.();
        return reason;
      }
      // A sample due before the next timer wakes the loop itself: a stretch where nothing is due
      // (a long handler) would otherwise have no sample, the stall the lag is there to show.
      const sampleFirst = every !== undefined && nextSampleMs < next!;
      if (!sampleFirst) timers++;
      await this.clock.advanceAsync((sampleFirst ? nextSampleMs : next!) - this.clock.monotonicMs());
    }
  }

  /**
   * The final drain read: the ids of the records in the log of each topic now, and per group the
   * ids below its ackFloor, which the broker no longer owes it (acked, dead-lettered, or before
   * where the group started or was reset to).
   */
  async drain(topics: readonly string[]): Promise<{ inLog: Set<string>; belowAckFloor: Map<string, Set<string>>; deletedTopics: Set<string> }> {
    const inLog = new Set<string>();
    const belowAckFloor = new Map(this.groups.map(({ group }) => [group, new Set<string>()]));
    // An operator (an admin step) may have deleted a topic: nothing of it is in the log.
    const deletedTopics = new Set(topics.filter((t) => !this.broker.listTopics().includes(t)));
    for (const topic of topics.filter((t) => !deletedTopics.has(t))) {
      const readers = this.groups.filter((g) => g.topic === topic && this.broker.listGroups(topic).some((l) => l.group === g.group));
      const floors = readers.map(({ group }) => ({ group, partitions: this.broker.describeGroup(topic, group).partitions }));
      for (const partition of this.broker.describeTopic(topic).partitions) {
        for (let offset = partition.startOffset; offset < partition.endOffset;) {
          const records = await this.broker.fetch({ topic, partition: partition.partition, offset });
          if (records.length === 0) break;
          for (const record of records) {
            const id = idOf(record.headers) ?? unnamed(topic, partition.partition, record.offset);
            inLog.add(id);
            for (const { group, partitions } of floors) {
              const floor = partitions.find((p) => p.partition === partition.partition)?.ackFloor;
              if (floor !== undefined && record.offset < floor) belowAckFloor.get(group)!.add(id);
            }
          }
          offset = records[records.length - 1]!.offset + 1n;
        }
      }
    }
    return { inLog, belowAckFloor, deletedTopics };
  }

  later(ms: number, action: () => unknown): Timer {
    this.pendingActions += 1;
    let pending = true;
    const done = () => {
      pending = false;
      this.pendingActions -= 1;
    };
    const timer = this.clock.setTimer(ms, () => {
      done();
      this.watch(action());
    });
    return {
      cancel: () => {
        if (!pending) return;
        done();
        timer.cancel();
      },
    };
  }

  place(group: string, delivery: Delivery): RecordPlace {
    const id = idOf(delivery.headers) ?? unnamed(delivery.topic, delivery.partition, delivery.offset);
    this.idAt.set(unnamed(delivery.topic, delivery.partition, delivery.offset), id);
    return { id, group, partition: delivery.partition, offset: Number(delivery.offset) };
  }

  faultsFor(facts: Omit<DeliveryFacts, 'nth'>, id: string): Fault[] {
    const all: DeliveryFacts = { ...facts, nth: ++this.deliveries };
    const hits: Fault[] = [];
    this.plan.forEach((fault, index) => {
      if (this.fired.has(index) || !triggerMatches(fault.trigger, all)) return;
      this.fired.add(index);
      // A fault naming another consumer acts on that one, not on this record: its lane, no record held.
      const other = 'consumer' in fault && fault.consumer !== undefined && fault.consumer !== facts.consumer ? fault.consumer : undefined;
      this.history.record({ type: 'fault', index, description: describeFault(fault), ...(other === undefined ? { consumer: facts.consumer, id } : { consumer: other }) });
      hits.push(fault);
    });
    return hits;
  }

  /** A fault acting on a consumer (named by the fault, else the one that got the delivery) or on the broker. */
  applyFault(fault: Fault, target: SimConsumer | undefined): void {
    const named = 'consumer' in fault && fault.consumer !== undefined ? this.consumers.find((c) => c.name === fault.consumer) : undefined;
    const consumer = named ?? target;
    switch (fault.kind) {
      case 'restartBroker': return this.watch(this.restarting = this.restarting.then(() => this.restartBroker(fault)));
      case 'crashConsumer': return consumer?.crash(fault.restartAfterMs);
      case 'slowConsumer': return consumer?.slowDown(fault.delayMs, fault.durationMs);
      case 'pauseConsumer': return consumer?.pause(fault.durationMs);
      case 'leaveConsumer': return this.watch(consumer?.leave(fault.rejoinAfterMs));
      default: assert(false, 'fault is aimed at a delivery, not applied', { kind: fault.kind });
    }
  }

  private fire(index: number, fault: Fault): void {
    this.fired.add(index);
    const consumer = 'consumer' in fault ? fault.consumer : undefined;
    this.history.record({ type: 'fault', index, description: describeFault(fault), ...(consumer === undefined ? {} : { consumer }) });
    this.applyFault(fault, undefined);
  }

  /** Nothing left to do: every produce answered, no action pending, no handler running, every group caught up. */
  private quiescent(): boolean {
    if (this.pendingActions > 0 || this.producers.busy || this.consumers.some((c) => c.busy)) return false;
    const topics = this.broker.listTopics();
    for (const { topic, group } of this.groups) {
      // A deleted topic's group is owed nothing; one not formed yet is still to come.
      if (!topics.includes(topic)) continue;
      if (!this.broker.listGroups(topic).some((g) => g.group === group)) return false;
      if (this.broker.describeGroup(topic, group).lag > 0n) return false;
    }
    return true;
  }

  named(topic: string, partition: number, offset: bigint, id: string): void {
    this.idAt.set(unnamed(topic, partition, offset), id);
  }

  produce(consumer: string, topic: string, records: ProduceRecord[]): Promise<ProduceResult[]> {
    return this.producers.produceFrom(consumer, topic, records);
  }

  private async administer(step: AdminStep): Promise<void> {
    const notes = await step.run(this.broker, { startMs: this.history.startMs });
    const lines = notes === undefined ? [] : (Array.isArray(notes) ? notes : [notes]).map(String);
    this.history.record({ type: 'admin', what: step.what, ...(lines.length ? { notes: lines } : {}) });
  }

  private sampleLag(): void {
    for (const { topic, group } of this.groups) {
      if (!this.broker.listGroups().some((g) => g.topic === topic && g.group === group)) continue;
      this.history.record({ type: 'lag', group, topic, lag: Number(this.broker.describeGroup(topic, group).lag) });
    }
  }

  private async restartBroker(fault: Extract<Fault, { kind: 'restartBroker' }>): Promise<void> {
    this.brokerEpoch += 1;
    this.detach?.();
    // A produce waiting on the dead broker (an fsync timer that died with it) never answers: indeterminate.
    this.producers.brokerRestarted();
    if (fault.crash === 'clean') await this.world.broker.close();
    const keep = fault.crash === 'tornWrite' ? tearLastWrite(fault.tornBytes ?? DEFAULT_TORN_BYTES) : undefined;
    await this.world.restart({ powerCut: fault.crash === 'powerCut' || fault.crash === 'tornWrite', ...(keep ? { keep } : {}) });
    this.history.record({ type: 'brokerRestart', crash: fault.crash });
    this.listen(this.world.broker);
    for (const consumer of this.consumers) await consumer.reconnect();
  }

  watch(work: unknown): void {
    if (work instanceof Promise) work.catch((error: unknown) => (this.failure ??= error));
  }

  /** Broker events of the simulation's groups, as history, with offsets named by record id and members by consumer. */
  private listen(broker: Broker): void {
    const groups = new Set(this.groups.map((g) => g.group));
    const place = (e: { topic: string; partition: number; offset: bigint; group: string }): RecordPlace => ({
      id: this.idAt.get(unnamed(e.topic, e.partition, e.offset)) ?? unnamed(e.topic, e.partition, e.offset),
      group: e.group, partition: e.partition, offset: Number(e.offset),
    });
    // Members join under the consumer's name; an event names the member id (`group-n`). Names are
    // remembered: a member that left (a rebalance's cause) is no longer described.
    const names = new Map<string, string>();
    const member = (topic: string, group: string, id: string): string => {
      const known = names.get(`${topic}/${id}`) ?? broker.describeGroup(topic, group).members.find((m) => m.id === id)?.name;
      if (known !== undefined) names.set(`${topic}/${id}`, known);
      return known ?? id;
    };
    const handlers: { [K in keyof BrokerEvents]?: BrokerEvents[K] } = {
      acked: (e) => groups.has(e.group) && this.history.record({ type: 'acked', consumer: member(e.topic, e.group, e.member), ...place(e) }),
      leaseExpired: (e) => groups.has(e.group) && this.history.record({ type: 'leaseExpired', consumer: member(e.topic, e.group, e.member), ...place(e) }),
      redelivered: (e) => groups.has(e.group)
        && this.history.record({ type: 'redelivered', ...place(e), reason: e.reason, nextDeliveryCount: e.nextDeliveryCount, delayMs: e.delayMs }),
      deadLettered: (e) => groups.has(e.group) && this.history.record({ type: 'deadLettered', ...place(e), deliveryCount: e.deliveryCount, reason: e.reason }),
      // A tail reader's losses are its own; the history follows the groups' records.
      retentionDropped: (e) => e.reader === undefined && (e.group === undefined || groups.has(e.group)) && this.history.record({
        type: 'retentionDropped', topic: e.topic, partition: e.partition, startOffset: Number(e.startOffset),
        ...(e.group === undefined ? {} : { group: e.group }), lostRecords: Number(e.lostRecords),
      }),
      groupReset: (e) => groups.has(e.group) && this.history.record({ type: 'groupReset', topic: e.topic, group: e.group, offsets: e.offsets.map(Number) }),
      groupDeleted: (e) => groups.has(e.group) && this.history.record({ type: 'groupDeleted', topic: e.topic, group: e.group }),
      rebalanced: (e) => groups.has(e.group) && this.history.record({
        type: 'rebalanced', group: e.group, reason: e.reason, member: member(e.topic, e.group, e.member),
        assignment: Object.fromEntries(Object.entries(e.assignment).map(([m, ps]) => [member(e.topic, e.group, m), ps])),
      }),
    };
    for (const [name, handler] of Object.entries(handlers)) broker.on(name as keyof BrokerEvents, handler as never);
    this.detach = () => {
      for (const [name, handler] of Object.entries(handlers)) broker.off(name as keyof BrokerEvents, handler as never);
    };
  }
}

/** What a record without an id (not produced by the simulation) is called; also the key of `idAt`. */
function unnamed(topic: string, partition: number, offset: bigint): string {
  return `?${topic}/${partition}@${offset}`;
}

function idOf(headers: readonly { key: string; value: Uint8Array | null }[]): string | undefined {
  const header = headers.find((h) => h.key === SIM_ID_HEADER);
  return header?.value ? utf8.decode(header.value) : undefined;
}

