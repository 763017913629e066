/** The commands of delivery.property.test.ts, their arbitraries, and the scenario's constants (test-only). */
import fc from 'fast-check';
import type { Ordering } from './subscribe-options.js';

export const TOPIC = 'orders';
export const GROUP = 'billing';
export const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'] as const;

/** The group's settings (subscribe options): those of the scenario's first join, until a reconfigure. */
export interface Settings {
  readonly ackTimeoutMs: number;
  readonly maxDeliveries: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly multiplier: number; readonly jitter: number };
}

export const SETTINGS: Settings = { ackTimeoutMs: 1000, maxDeliveries: 3, backoff: { initialMs: 100, maxMs: 400, multiplier: 2, jitter: 0.2 } };

/**
 * The topic's retention: a partition's segment rolls at the first produce once its first record
 * is SEGMENT_MS_MAX old, and a `retain` command deletes the sealed segments whose newest record is
 * older than RETENTION_MAX_AGE_MS, so a few seconds of virtual time take records a group still owes.
 */
export const SEGMENT_MS_MAX = 500;
export const RETENTION_MAX_AGE_MS = 2000;

/** Where a reset moves the group: a timestamp is `agoMs` before the reset. */
export type ResetTarget = 'earliest' | 'latest' | { offset: number } | { agoMs: number };

export type Action =
  | { type: 'ack' }
  | { type: 'nack'; delayMs?: number }
  | { type: 'reject' }
  | { type: 'extend'; ms?: number };

export type Command = CommandBody & {
  /** Run the next command at once, in the same turn: no waiting for this one's effects, no checks in between. */
  together?: boolean;
};

/**
 * How a member consumes: a handler; an iterator whose loop reads each delivery as it comes; a
 * lazy iterator, whose loop reads one per 'read' command (all of them from the drain on), so
 * deliveries wait unread in its queue, held unsent, while leases run out and it gets paused.
 */
export type Style = 'iterator' | 'lazy' | 'handler';

type CommandBody =
  /** Keys are indexes into KEYS; a null key goes to partition (index in the batch % partitions). */
  | { kind: 'produce'; keys: (number | null)[] }
  | { kind: 'join'; maxInFlight: number; style: Style }
  /** Settles the `pick`-th delivery the members hold (current or stale, of live or gone members). */
  | { kind: 'settle'; pick: number; action: Action }
  | { kind: 'crash'; pick: number }
  | { kind: 'close'; pick: number }
  /** The `pick`-th live lazy member's loop reads one delivery, or waits for the next. */
  | { kind: 'read'; pick: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'restart' }
  /** broker.resetGroup, racing what runs with it: the model applies it at its groupReset event. */
  | { kind: 'reset'; to: ResetTarget }
  /**
   * A member joins with `settings` (and `ordering`, if given, else the group's), once every live
   * member crashed if `evict`: on a group with no members that reconfigures it (if they differ),
   * on one with members it is refused.
   */
  | { kind: 'reconfigure'; settings: Settings; ordering?: Ordering; evict: boolean; maxInFlight: number; style: Style }
  /** broker.enforceRetention(): deletes what RETENTION_MAX_AGE_MS allows. */
  | { kind: 'retain' };

export interface Scenario {
  partitions: number;
  seed: number;
  /**
   * The broker's groupUnackedRecordsMax when set: a window of a few records, so that windows fill
   * up and refill (their read-room rule) within a scenario's handful of records.
   */
  unackedRecordsMax?: number;
  commands: Command[];
}

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ type: 'ack' as const }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('nack' as const) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('nack' as const), delayMs: fc.integer({ min: 0, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'reject' as const }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('extend' as const), ms: fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }) }) },
);

const resetTargetArb: fc.Arbitrary<ResetTarget> = fc.oneof(
  fc.constant('earliest' as const),
  fc.constant('latest' as const),
  fc.record({ offset: fc.nat(12) }),
  fc.record({ agoMs: fc.nat(6000) }),
);

const settingsArb: fc.Arbitrary<Settings> = fc.record({
  ackTimeoutMs: fc.constantFrom(500, 1000, 2000),
  maxDeliveries: fc.integer({ min: 1, max: 4 }),
  backoff: fc.record({ initialMs: fc.constantFrom(50, 100, 200), maxMs: fc.constant(400), multiplier: fc.constant(2), jitter: fc.constant(0.2) }),
});

const styleArb: fc.Arbitrary<Style> = fc.constantFrom('iterator', 'lazy', 'handler');

const bodyArb: fc.Arbitrary<CommandBody> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('produce' as const), keys: fc.array(fc.option(fc.nat(KEYS.length - 1), { freq: 6 }), { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('join' as const), maxInFlight: fc.integer({ min: 1, max: 5 }), style: styleArb }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(20), action: actionArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), pick: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), pick: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), pick: fc.nat(5) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 2500 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), to: resetTargetArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('reconfigure' as const), settings: settingsArb, evict: fc.nat(3).map((n) => n > 0),
      maxInFlight: fc.integer({ min: 1, max: 5 }), style: styleArb,
      ordering: fc.option(fc.constantFrom<Ordering>('none', 'key', 'partition'), { nil: undefined }),
    }, { requiredKeys: ['kind', 'settings', 'evict', 'maxInFlight', 'style'] }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'retain' as const }) },
);

export const commandArb: fc.Arbitrary<Command> = fc.tuple(bodyArb, fc.integer({ min: 0, max: 5 }))
  .map(([body, dice]) => (dice === 0 ? { ...body, together: true } : body));

export const scenarioArb = (maxCommands: number): fc.Arbitrary<Scenario> => fc.record({
  partitions: fc.integer({ min: 2, max: 3 }),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  unackedRecordsMax: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
  commands: fc.array(commandArb, { minLength: 1, maxLength: maxCommands, size: 'max' }),
}, { requiredKeys: ['partitions', 'seed', 'commands'] });
