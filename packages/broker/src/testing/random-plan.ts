/**
 * Random fault plans. A fault is built from a fixed number of choices (integers), so the same
 * builder serves two sources: a SeededRandom (a plan from the simulation's seed) and fast-check
 * (an arbitrary over choice tuples, which shrinks by dropping whole faults and by moving each
 * choice towards 0, i.e. towards the first kind, the first delivery, the shortest delay).
 */
import { BrookError, SeededRandom } from '@brook/protocol';
import { checkInteger, FAULT_KINDS, type BrokerCrash, type CrashPoint, type Fault, type FaultKind, type Trigger } from './fault-plan.js';

export interface RandomPlanOptions {
  /** Consumer names faults may target. */
  consumers: readonly string[];
  /** Default: every kind. */
  kinds?: readonly FaultKind[];
  /** Default 3. */
  maxFaults?: number;
  /** Time triggers fall in [0, horizonMs). Default 5000. */
  horizonMs?: number;
  /** Delivery triggers name one of the first `deliveries` deliveries. Default 20. */
  deliveries?: number;
}

/** Choices one fault is built from. */
export const CHOICES_PER_FAULT = 6;

const CRASH_POINTS: readonly CrashPoint[] = ['afterEffect', 'beforeEffect', 'onDelivery'];
const BROKER_CRASHES: readonly BrokerCrash[] = ['powerCut', 'kill', 'clean', 'tornWrite'];
/** Faults about one record cannot be triggered by time. */
const NEEDS_DELIVERY: ReadonlySet<FaultKind> = new Set(['loseAck', 'delayAck', 'duplicateDelivery']);

/** A plan of up to `maxFaults` faults drawn from `seed` (a stream of its own: the broker's jitter does not shift it). */
export function randomPlan(seed: number, options: RandomPlanOptions): Fault[] {
  checkRandomPlanOptions(options);
  const random = new SeededRandom(seed).fork();
  const count = random.int((options.maxFaults ?? 3) + 1);
  return Array.from({ length: count }, () => faultFromChoices(Array.from({ length: CHOICES_PER_FAULT }, () => random.nextUint32()), options));
}

/** Counts and ranges a plan is drawn from; out of range they would crash the draw or build faults no plan may hold. */
export function checkRandomPlanOptions(options: RandomPlanOptions): void {
  checkInteger(options.maxFaults, 'faults.random.maxFaults', 0);
  checkInteger(options.horizonMs, 'faults.random.horizonMs', 1);
  checkInteger(options.deliveries, 'faults.random.deliveries', 1);
  const { kinds, consumers } = options;
  if (kinds !== undefined && (kinds.length === 0 || !kinds.every((kind) => FAULT_KINDS.includes(kind)))) {
    throw new BrookError('INVALID_CONFIG', `faults.random.kinds must be a non-empty list of fault kinds (${FAULT_KINDS.join(', ')})`, { option: 'faults.random.kinds' });
  }
  if (consumers.length === 0) throw new BrookError('INVALID_CONFIG', 'faults.random.consumers must name at least one consumer', { option: 'faults.random.consumers' });
}

/** One fault from CHOICES_PER_FAULT integers >= 0 (missing ones count as 0). */
export function faultFromChoices(choices: readonly number[], options: RandomPlanOptions): Fault {
  const pick = <T>(index: number, items: readonly T[]): T => items[(choices[index] ?? 0) % items.length]!;
  const scaled = (index: number, max: number): number => (choices[index] ?? 0) % max;
  const kinds = options.kinds ?? FAULT_KINDS;
  const kind = pick(0, kinds);
  const consumer = pick(3, options.consumers);
  const byTime = !NEEDS_DELIVERY.has(kind) && scaled(1, 2) === 1;
  const trigger: Trigger = byTime ? { atMs: scaled(2, options.horizonMs ?? 5_000) } : { delivery: 1 + scaled(2, options.deliveries ?? 20) };
  const ms = 100 * (1 + scaled(4, 100));
  switch (kind) {
    // At a delivery, the crash hits the consumer holding the record (its point is about that handler); at a time it needs a name.
    case 'crashConsumer': return { kind, trigger, ...(byTime ? { consumer } : {}), point: pick(4, CRASH_POINTS), restartAfterMs: 100 * scaled(5, 50) };
    case 'loseAck': return { kind, trigger };
    case 'delayAck': return { kind, trigger, delayMs: 1_000 * (1 + scaled(4, 60)) };
    case 'duplicateDelivery': return { kind, trigger };
    case 'slowConsumer': return { kind, trigger, consumer, delayMs: ms, durationMs: 1_000 * (1 + scaled(5, 30)) };
    case 'pauseConsumer': return { kind, trigger, consumer, durationMs: 1_000 * (1 + scaled(4, 60)) };
    case 'leaveConsumer': return { kind, trigger, consumer, rejoinAfterMs: 100 * scaled(5, 50) };
    case 'restartBroker': return { kind, trigger, crash: pick(4, BROKER_CRASHES), tornBytes: 1 + scaled(5, 64) };
  }
}
