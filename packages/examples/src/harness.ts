/**
 * What every demo shares. A demo is one or more runs of the testing kit's `simulate` (the real
 * broker on a virtual clock, a fault plan, a history judged by checkers); the harness prints each
 * run the same way: a title, the swimlane trace, the counters, the checkers, and at the end the
 * demo's verdict line. A demo only writes its scenario and says what the learner should see.
 */
import {
  formatCounters, formatLanes, simulate, type Counters, type HistoryEvent, type LaneOptions, type SimulationOptions, type SimulationResult,
} from '@brook/broker/testing';

export interface DemoInfo {
  /** What `brook demo NAME` takes. */
  name: string;
  title: string;
  /** The section of DDIA chapter 11 it illustrates. */
  section: string;
}

/** What a demo concludes: whether the phenomenon showed, in one line, with the numbers tests assert on. */
export interface Verdict {
  shown: boolean;
  verdict: string;
  facts: Record<string, unknown>;
}

export interface VariantResult {
  label: string;
  /** All groups together. */
  counters: Counters;
  groups: Readonly<Record<string, Counters>>;
  /** Names of the checkers that found violations. */
  failed: string[];
}

export interface DemoResult extends Verdict {
  name: string;
  seed: number;
  variants: VariantResult[];
}

export interface Demo extends DemoInfo {
  /** The seed when none is given, if 1 does not tell the story (a race that needs an unlucky interleaving). */
  defaultSeed?: number;
  run(demo: DemoRun): Promise<Verdict>;
}

/** Violations printed per checker: the trace above tells the rest. */
const VIOLATIONS_SHOWN = 3;

export type VariantOptions = Omit<SimulationOptions, 'seed' | 'command' | 'fromEnvironment'> & { lanes?: LaneOptions };

/** One demo being run: its seed, its output, its variants. */
export class DemoRun {
  readonly variants: VariantResult[] = [];

  constructor(readonly info: DemoInfo, readonly seed: number, readonly write: (line: string) => void) {}

  /** Runs one scenario of the demo and prints it: trace, counters, checkers. */
  async variant(label: string, intro: string, options: VariantOptions): Promise<SimulationResult> {
    const { lanes, ...simulation } = options;
    const result = await this.quietly(simulation);
    this.write('');
    this.write(`── ${label} ${'─'.repeat(Math.max(3, 70 - label.length))}`);
    for (const line of intro.split('\n')) this.write(line);
    this.write('');
    for (const line of formatLanes(result.history.events, { lanes: defaultLanes(simulation), ...lanes }).split('\n')) this.write(line);
    this.write('');
    for (const line of formatCounters(result.counters).split('\n')) this.write(line);
    for (const check of result.results) {
      this.write(`${check.ok ? '✓' : '✗'} ${check.checker.padEnd(18)} ${check.summary}`);
      for (const violation of check.violations.slice(0, VIOLATIONS_SHOWN)) this.write(`    ${violation.message}`);
      if (check.violations.length > VIOLATIONS_SHOWN) this.write(`    … and ${check.violations.length - VIOLATIONS_SHOWN} more`);
    }
    this.variants.push({
      label, counters: result.counters.total, groups: result.counters.groups, failed: result.violations.map((v) => v.checker),
    });
    return result;
  }

  /**
   * Runs a scenario without printing it (a demo that explores many seeds). The demo's seed is the
   * one it prints, so BROOK_SIM_SEED / BROOK_SIM_PLAN (a test's replay line) do not reach it.
   */
  quietly(options: Omit<SimulationOptions, 'seed' | 'command'>, seed = this.seed): Promise<SimulationResult> {
    return simulate({ ...options, seed, command: `brook demo ${this.info.name} --seed ${seed}`, fromEnvironment: false });
  }
}

/** Producers as the steps name them, consumers in the order given, then the broker. */
function defaultLanes(options: Omit<SimulationOptions, 'seed'>): string[] {
  const producers = [...new Set(options.produce.map((step) => step.producer ?? 'producer'))];
  return [...producers, ...options.consumers.map((c) => c.name), 'broker'];
}

type EventOf<T extends HistoryEvent['type']> = Extract<HistoryEvent, { type: T }>;

/** The events of one type, typed. */
export function eventsOf<T extends HistoryEvent['type']>(result: SimulationResult, type: T): EventOf<T>[] {
  return result.history.events.filter((e): e is EventOf<T> => e.type === type);
}

/** Values of the records a group's handlers finished, in the order they finished. */
export function processedValues(result: SimulationResult, group: string): string[] {
  const values = new Map(eventsOf(result, 'deliver').map((e) => [e.id, e.value ?? e.id]));
  return eventsOf(result, 'processed').filter((e) => e.group === group).map((e) => values.get(e.id)!);
}

/** Deliveries per consumer (duplicated frames not counted). */
export function deliveriesByConsumer(result: SimulationResult): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of eventsOf(result, 'deliver')) if (!e.duplicate) counts[e.consumer] = (counts[e.consumer] ?? 0) + 1;
  return counts;
}

/** The largest lag sampled for a group (`lagSampleEveryMs`). */
export function maxLag(result: SimulationResult, group: string): number {
  return Math.max(0, ...eventsOf(result, 'lag').filter((e) => e.group === group).map((e) => e.lag));
}

/** Virtual time (ms since the start) at which the last event of a type matching `where` happened. */
export function lastAt<T extends HistoryEvent['type']>(result: SimulationResult, type: T, where: (e: EventOf<T>) => boolean = () => true): number {
  return Math.max(0, ...eventsOf(result, type).filter(where).map((e) => e.t));
}

/** `✓` when the phenomenon showed, `✗` when it did not: the verdict line's mark. */
export function mark(shown: boolean): string {
  return shown ? '✓' : '✗';
}
