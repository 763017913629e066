/**
 * Fault plans as data: a plan is a JSON array of faults, so it can be printed, saved, shrunk by
 * fast-check and replayed. Each fault fires once, when its trigger first matches.
 *
 * Triggers:
 *   { atMs }                      at this virtual time (ms since the simulation started)
 *   { delivery, consumer? }       at the nth delivery (1-based), counted over all consumers or one
 *   { match, consumer? }          at the first delivery whose record matches (key, value, deliveryCount)
 *
 * A delivery-triggered fault acts on the consumer that got the delivery and, for the faults that
 * concern one record (crash while holding it, lose or delay its ack, duplicate it), on that record.
 */
import { BrookError, showValue } from '@brook/protocol';

export type Trigger =
  | { atMs: number }
  | { delivery: number; consumer?: string }
  | { match: RecordMatch; consumer?: string };

export interface RecordMatch {
  key?: string;
  value?: string;
  deliveryCount?: number;
}

/** Where in the handler a consumer crashes: as the record arrives, or just before / after its first side effect. */
export type CrashPoint = 'onDelivery' | 'beforeEffect' | 'afterEffect';

/** How the broker goes down before it restarts on the same disk. */
export type BrokerCrash = 'clean' | 'kill' | 'powerCut' | 'tornWrite';

export type Fault =
  /** The consumer process dies (its timers too); it rejoins after `restartAfterMs` unless that is null. */
  | { kind: 'crashConsumer'; trigger: Trigger; consumer?: string; point?: CrashPoint; restartAfterMs?: number | null }
  /** The ack of the delivery never reaches the broker: its lease runs out. */
  | { kind: 'loseAck'; trigger: Trigger }
  /** The settlement of the delivery reaches the broker `delayMs` late (past the lease if longer). */
  | { kind: 'delayAck'; trigger: Trigger; delayMs: number }
  /** The delivery reaches the handler twice (a duplicated frame). */
  | { kind: 'duplicateDelivery'; trigger: Trigger }
  /** Every handler call of the consumer starts `delayMs` late, for `durationMs` (default: until the end). */
  | { kind: 'slowConsumer'; trigger: Trigger; consumer?: string; delayMs: number; durationMs?: number }
  /** Stop-the-world pause of the consumer process (a long GC): it does nothing for `durationMs`. */
  | { kind: 'pauseConsumer'; trigger: Trigger; consumer?: string; durationMs: number }
  /** The consumer leaves gracefully and rejoins after `rejoinAfterMs` unless null (under 'partition' ordering: two rebalances). */
  | { kind: 'leaveConsumer'; trigger: Trigger; consumer?: string; rejoinAfterMs?: number | null }
  /** The broker goes down and restarts on the same disk; `tornBytes` for 'tornWrite' (default 7). */
  | { kind: 'restartBroker'; trigger: Trigger; crash: BrokerCrash; tornBytes?: number };

export type FaultKind = Fault['kind'];
export type FaultPlan = readonly Fault[];

export const FAULT_KINDS: readonly FaultKind[] = [
  'crashConsumer', 'loseAck', 'delayAck', 'duplicateDelivery', 'slowConsumer', 'pauseConsumer', 'leaveConsumer', 'restartBroker',
];

/** Faults about one record: they need a delivery trigger, which names the record. */
const RECORD_FAULTS: ReadonlySet<FaultKind> = new Set(['loseAck', 'delayAck', 'duplicateDelivery']);
/** Faults about one consumer: a time trigger must name it. */
const CONSUMER_FAULTS: ReadonlySet<FaultKind> = new Set(['crashConsumer', 'slowConsumer', 'pauseConsumer', 'leaveConsumer']);
/** The duration a kind cannot act without: missing, it would run as a fault that does nothing (or corrupts the run). */
const REQUIRED_MS: Partial<Record<FaultKind, 'delayMs' | 'durationMs'>> = { delayAck: 'delayMs', slowConsumer: 'delayMs', pauseConsumer: 'durationMs' };

/** The fields each kind has besides `kind` and `trigger`: any other is a misspelling, or a field another kind has. */
const FIELDS: Record<FaultKind, readonly string[]> = {
  crashConsumer: ['consumer', 'point', 'restartAfterMs'],
  loseAck: [],
  delayAck: ['delayMs'],
  duplicateDelivery: [],
  slowConsumer: ['consumer', 'delayMs', 'durationMs'],
  pauseConsumer: ['consumer', 'durationMs'],
  leaveConsumer: ['consumer', 'rejoinAfterMs'],
  restartBroker: ['crash', 'tornBytes'],
};
const TRIGGER_FIELDS = ['atMs', 'delivery', 'match', 'consumer'];

export const DEFAULT_CONSUMER_RESTART_MS = 1_000;
export const DEFAULT_TORN_BYTES = 7;

/** Checks a plan (from code, JSON or an environment variable) against `consumers`; throws INVALID_CONFIG. */
export function checkFaultPlan(plan: unknown, consumers: readonly string[]): FaultPlan {
  if (!Array.isArray(plan)) throw invalidFault(-1, 'a fault plan must be an array of faults');
  plan.forEach((fault: unknown, index) => checkFault(fault, index, consumers));
  return plan as FaultPlan;
}

function checkFault(value: unknown, index: number, consumers: readonly string[]): void {
  if (typeof value !== 'object' || value === null) throw invalidFault(index, 'a fault must be an object');
  const fault = value as Fault;
  if (!FAULT_KINDS.includes(fault.kind)) throw invalidFault(index, `unknown kind ${JSON.stringify(fault.kind)}`);
  const field = Object.keys(fault).find((name) => name !== 'kind' && name !== 'trigger' && !FIELDS[fault.kind].includes(name));
  if (field !== undefined) throw invalidFault(index, `${fault.kind} has no field ${JSON.stringify(field)} (${[...FIELDS[fault.kind], 'trigger'].join(', ')})`);
  const trigger = checkTrigger(fault.trigger, index, consumers);
  const consumer = 'consumer' in fault ? fault.consumer : undefined;
  if (consumer !== undefined && !consumers.includes(consumer)) throw invalidFault(index, `unknown consumer ${JSON.stringify(consumer)}`);
  if ('atMs' in trigger && RECORD_FAULTS.has(fault.kind)) throw invalidFault(index, `${fault.kind} needs a delivery or match trigger`);
  if ('atMs' in trigger && CONSUMER_FAULTS.has(fault.kind) && consumer === undefined) {
    throw invalidFault(index, `${fault.kind} at a time needs a consumer`);
  }
  const required = REQUIRED_MS[fault.kind];
  if (required !== undefined && !(required in fault)) throw invalidFault(index, `${fault.kind} needs ${required}`);
  for (const field of ['delayMs', 'durationMs', 'restartAfterMs', 'rejoinAfterMs', 'tornBytes'] as const) {
    const ms = (fault as Partial<Record<typeof field, unknown>>)[field];
    if (ms !== undefined && ms !== null && !isNonNegativeInteger(ms)) throw invalidFault(index, `${field} must be an integer >= 0`);
  }
  if (fault.kind === 'crashConsumer' && fault.point !== undefined && !['onDelivery', 'beforeEffect', 'afterEffect'].includes(fault.point)) {
    throw invalidFault(index, "point must be 'onDelivery', 'beforeEffect' or 'afterEffect'");
  }
  if (fault.kind === 'restartBroker' && !['clean', 'kill', 'powerCut', 'tornWrite'].includes(fault.crash)) {
    throw invalidFault(index, "crash must be 'clean', 'kill', 'powerCut' or 'tornWrite'");
  }
}

function checkTrigger(value: unknown, index: number, consumers: readonly string[]): Trigger {
  const trigger = value as Partial<{ atMs: unknown; delivery: unknown; match: unknown; consumer: unknown }> | undefined;
  if (typeof trigger !== 'object' || trigger === null) throw invalidFault(index, 'trigger must be an object');
  const field = Object.keys(trigger).find((name) => !TRIGGER_FIELDS.includes(name));
  if (field !== undefined) throw invalidFault(index, `trigger has no field ${JSON.stringify(field)} (${TRIGGER_FIELDS.join(', ')})`);
  // Only one of them would be used, silently: { delivery: 2, match } is not "the 2nd matching delivery".
  const when = ['atMs', 'delivery', 'match'].filter((name) => name in trigger);
  if (when.length > 1) throw invalidFault(index, `trigger has ${when.join(' and ')}: give one of { atMs }, { delivery } or { match }`);
  if ('atMs' in trigger && trigger.consumer !== undefined) throw invalidFault(index, 'a time trigger names no consumer: name it on the fault');
  if (trigger.consumer !== undefined && !consumers.includes(trigger.consumer as string)) {
    throw invalidFault(index, `trigger names unknown consumer ${JSON.stringify(trigger.consumer)}`);
  }
  if ('atMs' in trigger && isNonNegativeInteger(trigger.atMs)) return trigger as Trigger;
  if ('delivery' in trigger && isNonNegativeInteger(trigger.delivery) && trigger.delivery >= 1) return trigger as Trigger;
  if ('match' in trigger && typeof trigger.match === 'object' && trigger.match !== null) {
    checkMatch(trigger.match as Record<string, unknown>, index);
    return trigger as Trigger;
  }
  throw invalidFault(index, 'trigger must be { atMs }, { delivery: n >= 1 } or { match: { key?, value?, deliveryCount? } }');
}

/** A misspelt field would match every delivery, a mistyped one none: both are plans that do not say what they mean. */
function checkMatch(match: Record<string, unknown>, index: number): void {
  for (const [field, value] of Object.entries(match)) {
    if (field === 'key' || field === 'value') {
      if (typeof value !== 'string') throw invalidFault(index, `match.${field} must be a string`);
    } else if (field === 'deliveryCount') {
      if (!isNonNegativeInteger(value) || value < 1) throw invalidFault(index, 'match.deliveryCount must be an integer >= 1');
    } else throw invalidFault(index, `unknown match field ${JSON.stringify(field)} (key, value, deliveryCount)`);
  }
}

/** An integer option >= `min` (or absent), else INVALID_CONFIG naming it: a NaN or negative time would crash the clock with an assertion, or silently mean "no limit". */
export function checkInteger(value: unknown, option: string, min: number): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= min)) {
    throw new BrookError('INVALID_CONFIG', `${option} must be an integer >= ${min}, got ${showValue(value)}`, { option });
  }
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function invalidFault(index: number, message: string): BrookError {
  return new BrookError('INVALID_CONFIG', index < 0 ? message : `fault #${index + 1}: ${message}`, { option: 'faults', fault: index + 1 });
}

/** What a delivery trigger is compared with. */
export interface DeliveryFacts {
  /** 1-based, over all consumers. */
  readonly nth: number;
  /** 1-based, over this consumer's deliveries. */
  readonly nthOfConsumer: number;
  readonly consumer: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly deliveryCount: number;
}

export function triggerMatches(trigger: Trigger, facts: DeliveryFacts): boolean {
  if ('atMs' in trigger) return false;
  if (trigger.consumer !== undefined && trigger.consumer !== facts.consumer) return false;
  if ('delivery' in trigger) return trigger.delivery === (trigger.consumer === undefined ? facts.nth : facts.nthOfConsumer);
  const { key, value, deliveryCount } = trigger.match;
  return (key === undefined || key === facts.key) && (value === undefined || value === facts.value)
    && (deliveryCount === undefined || deliveryCount === facts.deliveryCount);
}

/** One line per fault, for reports: `crashConsumer afterEffect at delivery of value "m3", restart after 1000ms`. */
export function describeFault(fault: Fault): string {
  const when = describeTrigger(fault.trigger);
  const who = 'consumer' in fault && fault.consumer !== undefined ? ` ${fault.consumer}` : '';
  switch (fault.kind) {
    case 'crashConsumer': {
      const restart = fault.restartAfterMs === null ? 'stays down' : `restarts after ${fault.restartAfterMs ?? DEFAULT_CONSUMER_RESTART_MS}ms`;
      return `crash consumer${who} ${fault.point ?? 'onDelivery'} ${when}; ${restart}`;
    }
    case 'loseAck': return `lose the ack ${when}`;
    case 'delayAck': return `delay the ack by ${fault.delayMs}ms ${when}`;
    case 'duplicateDelivery': return `duplicate the delivery ${when}`;
    case 'slowConsumer': return `slow consumer${who} by ${fault.delayMs}ms per record ${when}${fault.durationMs === undefined ? '' : ` for ${fault.durationMs}ms`}`;
    case 'pauseConsumer': return `pause consumer${who} for ${fault.durationMs}ms ${when}`;
    case 'leaveConsumer': return `consumer${who} leaves ${when}; ${fault.rejoinAfterMs === null ? 'stays away' : `rejoins after ${fault.rejoinAfterMs ?? DEFAULT_CONSUMER_RESTART_MS}ms`}`;
    case 'restartBroker': return `restart the broker (${fault.crash}${fault.crash === 'tornWrite' ? ` ${fault.tornBytes ?? DEFAULT_TORN_BYTES} bytes` : ''}) ${when}`;
  }
}

function describeTrigger(trigger: Trigger): string {
  if ('atMs' in trigger) return `at ${trigger.atMs}ms`;
  const of = trigger.consumer === undefined ? '' : ` to ${trigger.consumer}`;
  if ('delivery' in trigger) return `at delivery #${trigger.delivery}${of}`;
  const parts = Object.entries(trigger.match).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  return `at the delivery${of} of ${parts.join(' ') || 'any record'}`;
}
