/**
 * What a subscription asks for, and its validation. Settings of the group (ordering, lease,
 * attempts, backoff, dead-letter topic) are fixed by the first member to join while the group
 * has none; a later member asking for different ones is refused with INVALID_CONFIG rather than
 * silently given something else. `maxInFlight` is per member.
 */
import { BrookError, showValue, TOPIC_NAME_LENGTH_MAX, validateTopicName, checkOptionKeys, checkStartPositionKeys, isTimestampMs, BACKOFF_OPTION_KEYS, type OptionKeys, type Random } from '@brook/protocol';
import { LIMITS, checkLimit, limitOrDefault } from '../config/defaults.js';

export type Ordering = 'none' | 'key' | 'partition';
export type StartPosition = 'earliest' | 'latest' | { offset: bigint } | { timestamp: number };

export interface BackoffOptions {
  /** Delay before the 2nd attempt; each later one multiplies it, up to maxMs. */
  initialMs?: number;
  maxMs?: number;
  multiplier?: number;
  /** 0..1: each delay is scaled by a seeded random factor in [1 - jitter, 1 + jitter]. */
  jitter?: number;
}

export interface SubscribeOptions {
  topic: string;
  /** Without a group: an ephemeral tail reader (fan-out, no acks, no redelivery). */
  group?: string;
  ordering?: Ordering;
  maxInFlight?: number;
  ackTimeoutMs?: number;
  /**
   * Failed attempts after which a record is dead-lettered. A 'partition' go-back or rebalance is
   * none, so deliveryCount may pass it (docs/semantics.md, "Redelivery").
   */
  maxDeliveries?: number;
  backoff?: BackoffOptions;
  /** Default `<topic>.dlq`, created on first use. */
  deadLetterTopic?: string;
  /** Where a new group (or an ephemeral reader) starts. Default: 'earliest' for groups, 'latest' without. */
  from?: StartPosition;
  /** A label for traces and describeGroup. */
  name?: string;
}

export interface GroupConfig {
  readonly ordering: Ordering;
  readonly ackTimeoutMs: number;
  readonly maxDeliveries: number;
  readonly backoff: Required<BackoffOptions>;
  readonly deadLetterTopic: string;
  readonly from: StartPosition;
}

/**
 * The backoff of a group whose subscribe options set none, and of a tail reader's read retry
 * (StepRetry), which has no options of its own: initialMs and maxMs are the defaults of LIMITS.
 */
export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialMs: LIMITS.backoffInitialMs.default,
  maxMs: LIMITS.backoffMaxMs.default,
  multiplier: 2,
  jitter: 0.1,
});

export function resolveGroupConfig(options: SubscribeOptions): GroupConfig {
  // Only an absent setting takes its default: null is refused, as every other value outside the setting's range.
  const ordering = options.ordering === undefined ? 'none' : options.ordering;
  if (ordering !== 'none' && ordering !== 'key' && ordering !== 'partition') {
    throw invalid('ordering', ordering, "'none', 'key' or 'partition'");
  }
  const backoff = options.backoff ?? {};
  const initialMs = limitOrDefault('backoffInitialMs', backoff.initialMs, 'backoff.initialMs');
  const maxMs = limitOrDefault('backoffMaxMs', backoff.maxMs, 'backoff.maxMs');
  const multiplier = backoff.multiplier === undefined ? DEFAULT_BACKOFF.multiplier : backoff.multiplier;
  const jitter = backoff.jitter === undefined ? DEFAULT_BACKOFF.jitter : backoff.jitter;
  if (typeof multiplier !== 'number' || !(multiplier >= 1 && multiplier <= 100)) throw invalid('backoff.multiplier', multiplier, 'a number in [1, 100]');
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) throw invalid('backoff.jitter', jitter, 'a number in [0, 1]');
  if (maxMs < initialMs) throw invalid('backoff.maxMs', maxMs, `>= backoff.initialMs (${initialMs})`);
  return {
    ordering,
    ackTimeoutMs: limitOrDefault('ackTimeoutMs', options.ackTimeoutMs),
    maxDeliveries: limitOrDefault('maxDeliveries', options.maxDeliveries),
    backoff: { initialMs, maxMs, multiplier, jitter },
    deadLetterTopic: options.deadLetterTopic === undefined ? defaultDeadLetterTopic(options.topic) : validateTopicName(options.deadLetterTopic),
    from: checkStartPosition(options.from === undefined ? 'earliest' : options.from),
  };
}

/**
 * The delay before the next attempt after `attempts` failed ones: initialMs × multiplier^(attempts−1),
 * capped at maxMs, scaled by a seeded random factor in [1 − jitter, 1 + jitter].
 */
export function backoffDelayMs(backoff: Required<BackoffOptions>, attempts: number, random: Random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** Math.max(0, attempts - 1));
  return Math.round(base * (1 + backoff.jitter * (2 * random.next() - 1)));
}

const SUBSCRIBE_KEYS: OptionKeys<SubscribeOptions> = {
  topic: true, group: true, ordering: true, maxInFlight: true, ackTimeoutMs: true, maxDeliveries: true, backoff: true,
  deadLetterTopic: true, from: true, name: true,
};

/** Every key of subscribe's options (and its backoff) known by name: a misspelled one is INVALID_CONFIG. */
export function checkSubscribeOptionKeys(options: SubscribeOptions): void {
  checkOptionKeys(options, SUBSCRIBE_KEYS);
  if (options.backoff !== undefined) checkOptionKeys(options.backoff, BACKOFF_OPTION_KEYS, 'backoff');
}

/** What only a group has: a tail reader keeps no acks, leases, attempts or dead-letter topic. */
const GROUP_ONLY_OPTIONS = ['ordering', 'ackTimeoutMs', 'maxDeliveries', 'backoff', 'deadLetterTopic'] as const;

/**
 * A subscription without a group takes `from`, `maxInFlight` and `name`; a setting of a group is
 * refused (INVALID_CONFIG naming it) rather than ignored, since nothing would ever apply it.
 */
export function checkTailReaderOptions(options: SubscribeOptions): void {
  const option = GROUP_ONLY_OPTIONS.find((key) => options[key] !== undefined);
  if (option !== undefined) {
    throw new BrookError('INVALID_CONFIG', `${option} is a setting of a group: a subscription without a group (a tail reader) keeps no acks and redelivers nothing`, { option });
  }
}

export function resolveMaxInFlight(options: SubscribeOptions): number {
  return options.maxInFlight === undefined ? limitOrDefault('maxInFlight', undefined) : checkLimit('maxInFlight', options.maxInFlight);
}

/** Group names follow the topic-name rule: they name directories too. */
export function validateGroupName(group: unknown): string {
  try {
    return validateTopicName(group);
  } catch (error) {
    throw new BrookError('INVALID_REQUEST', `group name ${JSON.stringify(group)} must be 1-249 characters from [A-Za-z0-9._-]`, { group }, { cause: error });
  }
}

/** The settings a joining member asked for that differ from the group's, by name. */
export function configConflicts(group: GroupConfig, asked: GroupConfig): string[] {
  const keys = ['ordering', 'ackTimeoutMs', 'maxDeliveries', 'deadLetterTopic'] as const;
  const conflicts: string[] = keys.filter((key) => group[key] !== asked[key]);
  if (JSON.stringify(group.backoff) !== JSON.stringify(asked.backoff)) conflicts.push('backoff');
  return conflicts;
}

export function checkStartPosition(from: unknown, option = 'from'): StartPosition {
  if (from === 'earliest' || from === 'latest') return from;
  if (typeof from === 'object' && from !== null) {
    checkStartPositionKeys(from, option);
    if ('offset' in from && typeof from.offset === 'bigint' && from.offset >= 0n) return { offset: from.offset };
    // The rule of every timestamp argument (protocol's timestamps.ts), as a record's timestamp is held to.
    if ('timestamp' in from && isTimestampMs(from.timestamp)) return { timestamp: from.timestamp };
  }
  throw invalid(option, from, "'earliest', 'latest', { offset: bigint >= 0 } or { timestamp: integer ms in 0..2^53-1 }");
}

/** `<topic>.dlq`; a topic name too long for it (over 245 characters) needs an explicit deadLetterTopic. */
function defaultDeadLetterTopic(topic: string): string {
  const name = `${topic}.dlq`;
  if (name.length <= TOPIC_NAME_LENGTH_MAX) return name;
  throw new BrookError('INVALID_CONFIG',
    `the default dead-letter topic "<topic>.dlq" would be ${name.length} characters (at most ${TOPIC_NAME_LENGTH_MAX}): pass deadLetterTopic for a topic name this long`,
    { option: 'deadLetterTopic', topic });
}

function invalid(option: string, value: unknown, expected: string): BrookError {
  return new BrookError('INVALID_CONFIG', `${option} must be ${expected}, got ${showValue(value)}`, { option });
}
