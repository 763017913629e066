/**
 * fast-check integration: many seeds and fault plans as one property, and a failing plan shrunk
 * to a minimal one. The kit does not import fast-check (it is not a runtime dependency of the
 * broker): pass your `fc` in. Only its types are imported, and those vanish at compile time.
 */
import type fc from 'fast-check';
import type { Checker } from './checkers.js';
import type { Fault } from './fault-plan.js';
import { CHOICES_PER_FAULT, checkRandomPlanOptions, faultFromChoices, type RandomPlanOptions } from './random-plan.js';
import { simulate, type Scenario, type SimulationResult } from './simulate.js';

type FastCheck = typeof fc;

/** Plans shaped like `randomPlan`'s; shrinking drops faults and simplifies each towards its first kind, first delivery, shortest delay. */
export function faultPlanArbitrary(fc: FastCheck, options: RandomPlanOptions): fc.Arbitrary<Fault[]> {
  checkRandomPlanOptions(options);
  const choices = fc.array(fc.nat({ max: 1_000_000 }), { minLength: CHOICES_PER_FAULT, maxLength: CHOICES_PER_FAULT });
  return fc.array(choices, { maxLength: options.maxFaults ?? 3 }).map((faults) => faults.map((c) => faultFromChoices(c, options)));
}

export interface ExploreOptions {
  /** Fault kinds, counts and ranges; consumers default to the scenario's. */
  faults?: Omit<RandomPlanOptions, 'consumers'> & { consumers?: string[] };
  checkers?: Checker[];
  /** Runs (default 100) and fast-check's own seed, to replay a whole exploration. */
  numRuns?: number;
  fcSeed?: number;
  /** The command that runs the scenario, for the replay line. */
  command?: string;
}

export interface ExploreResult {
  readonly ok: boolean;
  readonly numRuns: number;
  /** fast-check's seed and path of the failure: `fc.assert(..., { seed, path })` replays it. */
  readonly fcSeed: number;
  readonly fcPath: string | undefined;
  /** The shrunk failing run (its seed, minimal plan and report), if any. */
  readonly failure: SimulationResult | undefined;
}

/**
 * The property "the scenario passes every checker" over seeds and fault plans, for `fc.assert`
 * or `test.prop`. `scenario` is a factory: each run needs fresh handler state.
 */
export function simulationProperty(fc: FastCheck, scenario: () => Scenario, options: ExploreOptions = {}) {
  const consumers = options.faults?.consumers ?? scenario().consumers.map((c) => c.name);
  return fc.asyncProperty(fc.nat(), faultPlanArbitrary(fc, { ...options.faults, consumers }), async (seed, plan) => {
    const result = await simulate({ ...scenario(), seed, faults: plan, ...pick(options) });
    return result.ok;
  });
}

/** Runs the property; on failure, fast-check shrinks the seed and plan, and the minimal run is simulated again for its report. */
export async function explore(fc: FastCheck, scenario: () => Scenario, options: ExploreOptions = {}): Promise<ExploreResult> {
  const numRuns = options.numRuns ?? 100;
  const details = await fc.check(simulationProperty(fc, scenario, options), { numRuns, ...(options.fcSeed === undefined ? {} : { seed: options.fcSeed }) });
  if (!details.failed || details.counterexample === null) {
    return { ok: !details.failed, numRuns: details.numRuns, fcSeed: details.seed, fcPath: undefined, failure: undefined };
  }
  const [seed, plan] = details.counterexample;
  const failure = await simulate({ ...scenario(), seed, faults: plan, ...pick(options) });
  return { ok: false, numRuns: details.numRuns, fcSeed: details.seed, fcPath: details.counterexamplePath ?? undefined, failure };
}

function pick(options: ExploreOptions): { checkers?: Checker[]; command?: string } {
  return { ...(options.checkers ? { checkers: options.checkers } : {}), ...(options.command ? { command: options.command } : {}) };
}
