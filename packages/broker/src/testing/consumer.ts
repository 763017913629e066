/**
 * A simulated consumer process running the user's real handler. Each incarnation (from a join to
 * a crash or a leave) has its own ProcessClock, so a crash kills its timers, and once it is dead
 * nothing it does reaches the world: its effects throw, its settlements are not sent. Every
 * settlement goes through the kit (never the broker's implicit ack), which is where acks are lost
 * or delayed, and where an ack bound for a broker that has since restarted is dropped.
 */
import { BrookError, failureReason, isBrookError, refusedNackOptions, refusedSettlement, type Random, type Timer } from '@brook/protocol';
import type { Broker, ProduceResult } from '../broker.js';
import type { Delivery } from '../groups/delivery.js';
import type { Subscription } from '../groups/subscription.js';
import type { ProduceRecord } from '../topics/record-input.js';
import { DEFAULT_CONSUMER_RESTART_MS, type CrashPoint, type DeliveryFacts, type Fault } from './fault-plan.js';
import type { History, RecordPlace } from './history.js';
import { ProcessClock } from './world.js';
import { virtualTimers, type VirtualTimers } from './virtual-timers.js';
import type { ConsumerContext, ConsumerSpec, SimDelivery, SimHandler } from './sim-handler.js';
import { settle, type SettleArgument } from './settlement.js';

export type { ConsumerContext, ConsumerSpec, SimDelivery, SimHandler };

/** What a consumer needs from the simulation. */
export interface ConsumerHost {
  readonly history: History;
  readonly broker: Broker;
  /** Bumped by every broker restart: a delivery of an older epoch belongs to a dead broker. */
  readonly brokerEpoch: number;
  readonly latencyMs: readonly [number, number];
  clockNow(): number;
  /** Runs `action` after `ms` of virtual time; the simulation is not quiescent until it has run or is cancelled. */
  later(ms: number, action: () => unknown): Timer;
  place(group: string, delivery: Delivery): RecordPlace;
  produce(consumer: string, topic: string, records: ProduceRecord[]): Promise<ProduceResult[]>;
  /** Counts the delivery and returns the faults it triggers (recorded in the history). */
  faultsFor(facts: Omit<DeliveryFacts, 'nth'>, id: string): Fault[];
  applyFault(fault: Fault, consumer: SimConsumer): void;
  /** Work nobody awaits: if it fails, that is a bug of the kit, and the run ends with it. */
  watch(work: Promise<unknown>): void;
}

interface Incarnation {
  alive: boolean;
  readonly clock: ProcessClock;
  readonly timers: VirtualTimers;
  /** Handler runs under way (sleeping, paused, awaiting an ack). */
  running: number;
  readonly memory: Map<string, unknown>;
}

/** One handler run on one delivery, and the faults aimed at it. */
export interface Run {
  readonly delivery: Delivery;
  readonly place: RecordPlace;
  readonly inc: Incarnation;
  readonly epoch: number;
  settled?: 'ack' | 'nack' | 'reject';
  /** The first settlement's promise, which later ack/nack/reject calls return (as Delivery's do). */
  settlement?: Promise<void>;
  crashAt?: { point: CrashPoint; restartAfterMs: number | null | undefined };
  loseAck?: boolean;
  delayAckMs?: number;
  duplicate?: boolean;
}

const utf8 = new TextDecoder();
const text = (bytes: Uint8Array | null) => (bytes === null ? null : utf8.decode(bytes));

export class SimConsumer {
  private incarnation: Incarnation | undefined;
  private subscription: { sub: Subscription; epoch: number } | undefined;
  /** Set from a graceful leave's start until the process is gone. */
  private leaving: { rejoinAfterMs: number | null | undefined } | undefined;
  /** A stop-the-world pause of the process, until `untilMs`; it dies with the process. */
  private paused: { untilMs: number } | undefined;
  private slow: { delayMs: number; untilMs: number } | undefined;
  private delivered = 0;
  /** Some incarnation has subscribed: its topic existed. */
  private subscribed = false;

  constructor(readonly spec: ConsumerSpec, private readonly host: ConsumerHost, private readonly random: Random) {}

  get name(): string {
    return this.spec.name;
  }

  /** True while a live incarnation has a handler run under way. */
  get busy(): boolean {
    return (this.incarnation?.running ?? 0) > 0;
  }

  async join(): Promise<void> {
    if (this.incarnation) return;
    // Handler timers go through `later`, so a pending one keeps the simulation from ending early,
    // and wait out a pause: a paused process runs no code at all.
    const clock: ProcessClock = new ProcessClock({
      now: () => this.host.clockNow(),
      // A simulation never steps the wall clock: both readings are the virtual time.
      monotonicMs: () => this.host.clockNow(),
      setTimer: (ms, callback) => this.host.later(ms, () => this.afterPause(clock, callback)),
    });
    const inc: Incarnation = { alive: true, clock, timers: virtualTimers(clock, (error) => this.uncaught(inc, error)), running: 0, memory: new Map() };
    this.incarnation = inc;
    this.host.history.record({ type: 'consumer', consumer: this.name, what: 'join' });
    await this.subscribe(inc);
  }

  /**
   * After a broker restart: a live consumer subscribes to the new broker (its old deliveries are
   * void); one that was leaving is gone, since the broker it was waiting on is.
   */
  async reconnect(): Promise<void> {
    this.subscription = undefined;
    const inc = this.incarnation;
    if (!inc) return;
    if (this.leaving) this.left(inc);
    else await this.subscribe(inc);
  }

  /** A timer callback of `inc` threw: as in Node, the process dies of it (and restarts, as after a crash). */
  private uncaught(inc: Incarnation, error: unknown): void {
    if (this.incarnation !== inc) return;
    this.host.history.record({ type: 'uncaught', consumer: this.name, error: error instanceof Error ? error.message : String(error) });
    this.crash(undefined);
  }

  crash(restartAfterMs: number | null | undefined): void {
    const inc = this.incarnation;
    if (!inc) return;
    this.stop(inc);
    // The crash comes first in the history: the broker's redeliveries are its consequence.
    this.host.history.record({ type: 'consumer', consumer: this.name, what: 'crash' });
    this.currentSubscription()?.abort();
    this.subscription = undefined;
    this.rejoinAfter(restartAfterMs);
  }

  /** Graceful leave (waits for what it holds to be settled), then a rejoin unless `rejoinAfterMs` is null. */
  async leave(rejoinAfterMs: number | null | undefined): Promise<void> {
    const inc = this.incarnation;
    const sub = this.currentSubscription();
    if (!inc || !sub || this.leaving) return;
    this.leaving = { rejoinAfterMs };
    this.host.history.record({ type: 'consumer', consumer: this.name, what: 'leave' });
    await sub.close();
    // A crash (and maybe a rejoin) may have come first while close() waited.
    if (this.incarnation === inc) this.left(inc);
  }

  private left(inc: Incarnation): void {
    const rejoinAfterMs = this.leaving?.rejoinAfterMs;
    this.stop(inc);
    this.subscription = undefined;
    this.rejoinAfter(rejoinAfterMs);
  }

  /** A new incarnation joins after `ms` (default DEFAULT_CONSUMER_RESTART_MS); null: never. */
  private rejoinAfter(ms: number | null | undefined): void {
    if (ms !== null) this.host.later(ms ?? DEFAULT_CONSUMER_RESTART_MS, () => this.join());
  }

  /** The incarnation's process ends: its timers die and nothing it does reaches the world any more. */
  private stop(inc: Incarnation): void {
    inc.alive = false;
    inc.clock.kill();
    this.incarnation = undefined;
    this.leaving = undefined;
    this.paused = undefined;
  }

  pause(durationMs: number): void {
    const untilMs = Math.max(this.pausedUntilMs, this.host.clockNow() + durationMs);
    const paused = { untilMs };
    this.paused = paused;
    this.host.history.record({ type: 'consumer', consumer: this.name, what: 'pause' });
    // Resumes once, at the end of the longest pause, unless the paused process died first.
    this.host.later(untilMs - this.host.clockNow(), () => {
      if (this.paused !== paused) return;
      this.paused = undefined;
      this.host.history.record({ type: 'consumer', consumer: this.name, what: 'resume' });
    });
  }

  private get pausedUntilMs(): number {
    return this.paused?.untilMs ?? 0;
  }

  slowDown(delayMs: number, durationMs: number | undefined): void {
    this.slow = { delayMs, untilMs: durationMs === undefined ? Infinity : this.host.clockNow() + durationMs };
  }

  private currentSubscription(): Subscription | undefined {
    // A subscription to a broker that has restarted belongs to a dead broker: touching it would
    // let the dead broker write to the disk the new one uses.
    return this.subscription?.epoch === this.host.brokerEpoch ? this.subscription.sub : undefined;
  }

  private async subscribe(inc: Incarnation): Promise<void> {
    const epoch = this.host.brokerEpoch;
    const options = { ...this.spec.subscribe, name: this.name };
    const sub = await this.host.broker.subscribe(options, (delivery) => this.receive(delivery, inc, epoch)).catch((error: unknown) => {
      // The topic it read was deleted (an admin step): the process runs on with nothing to read, as
      // a real one whose subscribe fails. A topic it never read is a mistake in the scenario.
      if (this.subscribed && isBrookError(error, 'UNKNOWN_TOPIC')) return undefined;
      throw error;
    });
    if (!sub) return;
    this.subscribed = true;
    if (!inc.alive || epoch !== this.host.brokerEpoch) {
      if (epoch === this.host.brokerEpoch) sub.abort();
      return;
    }
    this.subscription = { sub, epoch };
  }

  /**
   * The handler given to the broker. It settles deliveries itself, so the promise it returns
   * never resolves: the broker's resolve-means-ack must not bypass a lost or delayed ack.
   */
  private receive(delivery: Delivery, inc: Incarnation, epoch: number): Promise<never> {
    // This runs inside the broker's call of the handler, which would take a throw for the handler's
    // nack: a failure of the kit itself ends the run instead of passing for an unplanned redelivery.
    try {
      this.deliver(delivery, inc, epoch);
    } catch (error) {
      this.host.watch(Promise.reject(error));
    }
    return new Promise<never>(() => undefined);
  }

  private deliver(delivery: Delivery, inc: Incarnation, epoch: number): void {
    // Neither a dead process nor a dead broker can be part of a delivery.
    if (!inc.alive || epoch !== this.host.brokerEpoch) return;
    const place = this.host.place(this.spec.subscribe.group, delivery);
    const key = text(delivery.key);
    const value = text(delivery.value);
    this.delivered += 1;
    this.host.history.record({ type: 'deliver', consumer: this.name, ...place, key, value, deliveryCount: delivery.deliveryCount });
    const run: Run = { delivery, place, inc, epoch };
    const facts = { nthOfConsumer: this.delivered, consumer: this.name, key, value, deliveryCount: delivery.deliveryCount };
    for (const fault of this.host.faultsFor(facts, place.id)) this.aim(fault, run);
    if (!inc.alive) return;
    this.host.watch(this.run(run));
    if (run.duplicate) {
      this.host.history.record({ type: 'deliver', consumer: this.name, ...place, key, value, deliveryCount: delivery.deliveryCount, duplicate: true });
      this.host.watch(this.run({ delivery, place, inc, epoch }));
    }
  }

  /** Faults about this record are noted on its run; the others act on the consumer or the world now. */
  private aim(fault: Fault, run: Run): void {
    // A fault naming another consumer acts on that one, as its description says; a crash point
    // is about this handler's effect, so the other consumer dies at once.
    if ('consumer' in fault && fault.consumer !== undefined && fault.consumer !== this.name) return this.host.applyFault(fault, this);
    switch (fault.kind) {
      case 'crashConsumer':
        if ((fault.point ?? 'onDelivery') === 'onDelivery') this.crash(fault.restartAfterMs);
        else run.crashAt = { point: fault.point ?? 'onDelivery', restartAfterMs: fault.restartAfterMs };
        return;
      case 'loseAck': run.loseAck = true; return;
      case 'delayAck': run.delayAckMs = fault.delayMs; return;
      case 'duplicateDelivery': run.duplicate = true; return;
      default: this.host.applyFault(fault, this);
    }
  }

  private async run(run: Run): Promise<void> {
    const { inc } = run;
    inc.running += 1;
    try {
      await this.beforeHandler(inc);
      if (!inc.alive) return;
      const view = this.view(run);
      let failure: { error: unknown } | undefined;
      try {
        await this.spec.handler(view, this.context(run));
      } catch (error) {
        failure = { error };
      }
      if (!inc.alive) return;
      // The crash point was never reached (no effect): the process dies before it settles.
      if (run.crashAt) return this.crash(run.crashAt.restartAfterMs);
      if (failure) {
        const error = failure.error instanceof Error ? failure.error.message : String(failure.error);
        this.host.history.record({ type: 'handlerError', consumer: this.name, ...run.place, error });
        void view.nack({ reason: failureReason(failure.error) });
        return;
      }
      if (run.settled === undefined || run.settled === 'ack') this.host.history.record({ type: 'processed', consumer: this.name, ...run.place });
      await view.ack().catch(() => undefined);
    } finally {
      inc.running -= 1;
    }
  }

  /** Delivery latency (seeded), a slow-consumer delay, a pause. */
  private async beforeHandler(inc: Incarnation): Promise<void> {
    const [min, max] = this.host.latencyMs;
    let delayMs = min + this.random.int(max - min + 1);
    if (this.slow && this.host.clockNow() < this.slow.untilMs) delayMs += this.slow.delayMs;
    if (delayMs > 0) await inc.timers.sleep(delayMs);
    await this.unpaused();
  }

  private afterPause(clock: ProcessClock, callback: () => void): void {
    const waitMs = this.pausedUntilMs - this.host.clockNow();
    // The process may die while a timer waits out a pause; kill() only cancels timers not yet due.
    if (!clock.alive) return;
    if (waitMs > 0) this.host.later(waitMs, () => this.afterPause(clock, callback));
    else callback();
  }

  private async unpaused(): Promise<void> {
    while (this.host.clockNow() < this.pausedUntilMs) {
      await new Promise<void>((resolve) => this.host.later(this.pausedUntilMs - this.host.clockNow(), resolve));
    }
  }

  private view(run: Run): SimDelivery {
    const d = run.delivery;
    return {
      topic: d.topic, partition: d.partition, offset: d.offset, key: d.key, value: d.value, headers: d.headers, timestamp: d.timestamp,
      deliveryCount: d.deliveryCount, redelivered: d.redelivered,
      get settled() {
        return run.settled !== undefined;
      },
      // An invalid argument is refused before anything settles, as the broker's Delivery does: the
      // delivery stays unsettled, so the handler's resolve still acks it.
      ack: () => this.settle(run, 'ack', undefined),
      nack: (options) => refusedNackOptions(options) ?? this.settle(run, 'nack', options ?? {}),
      reject: (reason) => refusedSettlement('reason', reason) ?? this.settle(run, 'reject', reason),
      extend: (ms) => refusedSettlement('ms', ms)
        ?? (run.settled === undefined && run.inc.alive && run.epoch === this.host.brokerEpoch ? d.extend(ms) : Promise.resolve()),
      text: () => d.text(),
      json: <T>() => d.json<T>(),
      header: (key) => d.header(key),
    };
  }

  private context(run: Run): ConsumerContext {
    return {
      consumer: this.name, recordId: run.place.id, timers: run.inc.timers, random: this.random, memory: run.inc.memory,
      now: () => this.host.clockNow(),
      sleep: (ms) => run.inc.timers.sleep(ms),
      effect: (kind, effectId) => this.effect(run, kind, effectId),
      produce: (topic, records) => {
        if (!run.inc.alive) throw crashed(this.name);
        return this.host.produce(this.name, topic, records);
      },
    };
  }

  private effect(run: Run, kind: string, effectId: string): void {
    if (!run.inc.alive) throw crashed(this.name);
    if (run.crashAt?.point === 'beforeEffect') {
      this.crash(run.crashAt.restartAfterMs);
      throw crashed(this.name);
    }
    this.host.history.record({ type: 'effect', consumer: this.name, ...run.place, kind, effectId, deliveryCount: run.delivery.deliveryCount });
    // No throw: code that runs synchronously after the effect (the write that records it) is
    // part of the same step, as in a transaction; from the next await on, the process is dead.
    if (run.crashAt?.point === 'afterEffect') this.crash(run.crashAt.restartAfterMs);
  }

  private settle(run: Run, how: 'ack' | 'nack' | 'reject', arg: SettleArgument): Promise<void> {
    return settle({ name: this.name, host: this.host, unpaused: () => this.unpaused() }, run, how, arg);
  }
}

function crashed(consumer: string): BrookError {
  return new BrookError('CLOSED', `consumer ${consumer} crashed (simulated)`, { consumer, simulatedCrash: true });
}
