/**
 * `simulate`: run consumers' real handlers against a real broker on virtual time, under a fault
 * plan, and judge the history with checkers. The seed decides everything random (the broker's
 * backoff jitter, delivery latency, the handlers' `ctx.random`, a random plan), so a seed and a
 * plan replay a run exactly; BROOK_SIM_SEED and BROOK_SIM_PLAN, when set, override both, which is
 * what the report's replay command uses.
 */
import { BrookError, SeededRandom, VirtualClock, showValue } from '@brook/protocol';
import type { BrokerOptions } from '../config/broker-options.js';
import type { CreateTopicOptions } from '../topics/topic.js';
import { defaultCheckers, uncaughtErrors, type CheckResult, type Checker, type Violation } from './checkers.js';
import type { ConsumerSpec } from './consumer.js';
import { checkFaultPlan, checkInteger, type FaultPlan } from './fault-plan.js';
import type { EndReason, History } from './history.js';
import { randomPlan, type RandomPlanOptions } from './random-plan.js';
import { formatReport } from './report.js';
import { countHistory, type Counters } from './counters.js';
import { Simulation, type AdminStep, type ProduceStep } from './simulation.js';
import { openWorld, type World } from './world.js';

export interface SimulationOptions {
  seed: number;
  /** Broker options; storage, file system, clock and randomness are the simulation's. */
  broker?: Omit<BrokerOptions, 'storage' | 'fs' | 'clock' | 'random' | 'seed' | 'dataDir'>;
  topics: Record<string, CreateTopicOptions>;
  produce: ProduceStep[];
  consumers: ConsumerSpec[];
  /** A plan, or `{ random }`: a plan drawn from the seed (consumers default to all). */
  faults?: FaultPlan | { random: Omit<RandomPlanOptions, 'consumers'> & { consumers?: string[] } };
  /** Default: defaultCheckers(). */
  checkers?: Checker[];
  /** The run stops at this virtual time if it has not gone quiet. Default 10 minutes. */
  maxVirtualTimeMs?: number;
  /** ... or after this many timer jumps. Default 100,000. */
  maxTimers?: number;
  /** Each delivery reaches its handler after a seeded latency in [min, max] ms. Default [0, 5]. */
  deliveryLatencyMs?: [number, number];
  /** The command that runs this scenario, for the replay line. Default 'npx vitest run'. */
  command?: string;
  /**
   * Default true: BROOK_SIM_SEED and BROOK_SIM_PLAN, when set, override `seed` and `faults`, and
   * the replay line sets them. false: the run is this seed and plan whatever the environment
   * says, and the replay line is `command` alone, which must carry the seed itself (`brook demo
   * NAME --seed N`, whose explicit flag must not lose to a variable left in the shell).
   */
  fromEnvironment?: boolean;
  /** An operator's actions at virtual times (reset a group, redrive a dead-letter topic, ...). */
  admin?: AdminStep[];
  /** Puts each group's lag into the history every this many ms of virtual time. Default: never. */
  lagSampleEveryMs?: number;
}

/** Everything but the seed and the faults: what a property explores with many of both. */
export type Scenario = Omit<SimulationOptions, 'seed' | 'faults'>;

export interface SimulationResult {
  readonly seed: number;
  readonly plan: FaultPlan;
  readonly ok: boolean;
  readonly results: readonly CheckResult[];
  readonly violations: readonly Violation[];
  readonly history: History;
  readonly endedBy: EndReason;
  /** Virtual time the run took, ms. */
  readonly virtualTimeMs: number;
  /** One line that replays this run (seed and plan in environment variables). */
  readonly replay: string;
  /** Counts of the run, per group and in all (see counters.ts). */
  readonly counters: { readonly total: Counters; readonly groups: Readonly<Record<string, Counters>> };
  /** The broker, its disk and clock as the run left them: for looking at the log, the groups, the dead letters. */
  readonly world: World;
  /** The readable report: verdict, seed, replay line, plan, checker results with history slices. */
  report(options?: { history?: boolean }): string;
}

export const SEED_ENV = 'BROOK_SIM_SEED';
export const PLAN_ENV = 'BROOK_SIM_PLAN';

export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const fromEnvironment = options.fromEnvironment ?? true;
  const seed = (fromEnvironment ? seedFromEnv() : undefined) ?? options.seed;
  if (!Number.isInteger(seed)) throw new BrookError('INVALID_CONFIG', `seed must be an integer, got ${showValue(seed)}`, { option: 'seed' });
  const names = checkConsumers(options.consumers);
  checkTimes(options);
  const plan = (fromEnvironment ? planFromEnv(names) : undefined) ?? resolvePlan(options.faults, seed, names);
  const root = new SeededRandom(seed);
  const clock = new VirtualClock();
  const startMs = clock.now();
  const world = await openWorld({ ...options.broker, random: root.fork() }, clock);
  for (const [name, topic] of Object.entries(options.topics)) await world.broker.createTopic(name, topic);
  const script = { produce: options.produce, consumers: options.consumers, plan, admin: options.admin ?? [] };
  const simulation = new Simulation(world, script, {
    maxVirtualTimeMs: options.maxVirtualTimeMs ?? 600_000,
    maxTimers: options.maxTimers ?? 100_000,
    latencyMs: checkLatency(options.deliveryLatencyMs ?? [0, 5]),
    lagSampleEveryMs: options.lagSampleEveryMs,
  }, () => root.fork());
  const endedBy = await simulation.run();
  const { inLog, belowAckFloor, deletedTopics } = await simulation.drain(Object.keys(options.topics));
  const history = simulation.history;
  const input = { history: history.events, groups: simulation.groups, inLog, belowAckFloor, deletedTopics };
  const uncaught = uncaughtErrors(history.events);
  const results = [...(options.checkers ?? defaultCheckers()).map((checker) => checker.check(input)), ...(uncaught ? [uncaught] : [])];
  const violations = results.flatMap((r) => r.violations);
  const command = options.command ?? 'npx vitest run';
  const replay = fromEnvironment ? replayCommand(seed, plan, command) : command;
  const result: SimulationResult = {
    seed, plan, ok: violations.length === 0, results, violations, history, endedBy, virtualTimeMs: clock.now() - startMs, replay,
    counters: countHistory(input, world.broker), world,
    report: (reportOptions) => formatReport(result, reportOptions),
  };
  return result;
}

function resolvePlan(faults: SimulationOptions['faults'], seed: number, consumers: string[]): FaultPlan {
  if (faults === undefined) return [];
  if ('random' in faults) return checkFaultPlan(randomPlan(seed, { consumers, ...faults.random }), consumers);
  return checkFaultPlan(faults, consumers);
}

function checkConsumers(consumers: readonly ConsumerSpec[]): string[] {
  const names = consumers.map((c) => c.name);
  if (names.length === 0 || new Set(names).size !== names.length) {
    throw new BrookError('INVALID_CONFIG', 'simulate needs at least one consumer, with unique names', { option: 'consumers', names });
  }
  for (const consumer of consumers) {
    if (typeof consumer.subscribe?.group !== 'string') {
      throw new BrookError('INVALID_CONFIG', `consumer ${consumer.name} needs a group: the kit judges groups`, { option: 'consumers', consumer: consumer.name });
    }
  }
  return names;
}

/** The run's limits and the scripted times, before any of them reaches the clock. */
function checkTimes(options: SimulationOptions): void {
  checkInteger(options.maxVirtualTimeMs, 'maxVirtualTimeMs', 0);
  checkInteger(options.maxTimers, 'maxTimers', 0);
  checkInteger(options.lagSampleEveryMs, 'lagSampleEveryMs', 1);
  for (const consumer of options.consumers) checkInteger(consumer.joinAtMs, `consumer ${consumer.name}: joinAtMs`, 0);
  options.produce.forEach((step, i) => {
    checkInteger(step.atMs, `produce step ${i + 1}: atMs`, 0);
    checkInteger(step.retryAfterMs, `produce step ${i + 1}: retryAfterMs`, 0);
  });
  options.admin?.forEach((step, i) => checkInteger(step.atMs, `admin step ${i + 1}: atMs`, 0));
}

function checkLatency([min, max]: [number, number]): [number, number] {
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
    throw new BrookError('INVALID_CONFIG', `deliveryLatencyMs must be [min, max] integers with 0 <= min <= max, got [${min}, ${max}]`, { option: 'deliveryLatencyMs' });
  }
  return [min, max];
}

function seedFromEnv(): number | undefined {
  const text = process.env[SEED_ENV];
  if (text === undefined || text === '') return undefined;
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new BrookError('INVALID_CONFIG', `${SEED_ENV} must be an integer, got ${JSON.stringify(text)}`, { option: SEED_ENV });
  return seed;
}

function planFromEnv(consumers: string[]): FaultPlan | undefined {
  const text = process.env[PLAN_ENV];
  if (text === undefined || text === '') return undefined;
  try {
    return checkFaultPlan(JSON.parse(text), consumers);
  } catch (error) {
    if (error instanceof BrookError) throw error;
    throw new BrookError('INVALID_CONFIG', `${PLAN_ENV} is not JSON: ${String(error)}`, { option: PLAN_ENV }, { cause: error });
  }
}

function replayCommand(seed: number, plan: FaultPlan, command: string): string {
  const quoted = `'${JSON.stringify(plan).replaceAll("'", "'\\''")}'`;
  return `${SEED_ENV}=${seed} ${PLAN_ENV}=${quoted} ${command}`;
}
