/**
 * Model-based property test of the delivery engine (DESIGN.md "Delivery semantics"), once per
 * ordering. fast-check draws 2-3 partitions, a broker seed (backoff jitter) and a list of
 * commands: produce records with keys from a small set (or none), members join (maxInFlight
 * 1..5, a handler the test settles, or an async iterator whose loop reads each delivery as it
 * comes, or lazily, one per command, so that deliveries wait unread in its queue while their
 * leases run out and it gets paused), a member acks / nacks (with or without
 * delayMs) / rejects / extends one of the deliveries it holds (current or stale), a member crashes
 * or closes, virtual time passes (ackTimeoutMs 1000, backoff 100..400 ms), the broker loses power
 * (fsync 'always') and the members subscribe again, all at once; maxDeliveries is 3. Admin and
 * retention too: resetGroup to 'earliest', 'latest', an offset or a timestamp (racing acks, leaves
 * and produces in the same turn: the model applies it at its groupReset event); a member joining with other
 * settings (maxDeliveries 1..4, ackTimeoutMs, backoff, sometimes another ordering: the checks follow
 * the switch), after every live member crashed or not, so
 * an empty group is reconfigured and one with members refuses it with INVALID_CONFIG; and a
 * retention pass (the topic keeps 2 s of records, in segments rolled every 0.5 s). The group
 * journal is the smallest allowed (4 KiB), so it rolls segments and compacts within some scenarios
 * (about one in forty), and restarts land around those too. Five scenarios in six hold a group's
 * window to 1..16 records (groupUnackedRecordsMax), so that windows fill and refill. One command
 * in six runs `together` with the next one, in the same turn, so that a member leaving, closing or
 * joining can land while a delivery is being journaled, or a settle race a rebalance. After every
 * other command the harness (delivery-model.ts) lets the broker go quiet and checks the invariants
 * below against a model built from the broker's events; at the end it acks everything and lets
 * time pass until the group has no lag.
 *
 * - no loss: every record the group still owes is acked or dead-lettered in the end: not those
 *   before where a reset moved it (nor before where it started), nor those retention deleted,
 *   which retentionDropped reports, exactly (and describeGroup's lostToRetention); each
 *   dead-letter copy announced is in `<topic>.dlq`, with its origin headers, its deliveryCount
 *   and the original key and value (twice only if a reset replayed the record);
 * - a reset moves each partition to the offset the model expects, and says so (groupReset) before
 *   resetGroup resolves; what was held before it is
 *   stale (ack and reject reject with DELIVERY_STALE), what it replays starts again at #1;
 * - deliveryCount goes 1, 2, 3... per record, across restarts, never above maxDeliveries unless
 *   its last delivery was taken back by a go-back or a rebalance ('partition': no failed
 *   attempt, so the next one is owed), and a record is dead-lettered once a delivery at or past
 *   maxDeliveries fails (nack, lease expiry, its member leaving) or is rejected (or, after a
 *   restart or a reconfigure lowering maxDeliveries, without another delivery once it had as
 *   many); a delivery given back before it reached its member ('redelivered', 'unsent') is no
 *   attempt: the next one repeats its deliveryCount, and the loop never reads it;
 * - acked or dead-lettered records are never delivered again (unless a reset replays them);
 *   nothing is delivered twice at once;
 * - flow control: a member never holds more than maxInFlight current deliveries, and every current
 *   delivery reached its member; closing or gone members get nothing new;
 * - leases expire on time (not before, not forgotten), backoffs are respected, nack({ delayMs })
 *   is honoured, under the settings of the latest reconfigure; describeGroup's in-flight list is
 *   exactly the model's;
 * - 'key': no record is delivered while another of its key is in flight or being dead-lettered,
 *   or while an earlier one of its key is not yet acked or dead-lettered; acks per key go up
 *   (from the latest reset);
 * - 'partition': at delivery, every earlier unsettled record of the partition is in flight to the
 *   same member and no later one is (in order, with go-back-N); one member per partition.
 *
 * A failure prints fast-check's seed and the shrunk command list (and the harness's trace);
 * replay it with `{ seed, path }` in fc.assert's options. BROOK_PROPERTY_RUNS raises numRuns.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { scenarioArb, type Command, type Scenario } from './delivery-commands.js';
import { DeliveryHarness } from './delivery-model.js';
import type { Ordering } from './subscribe-options.js';

const NUM_RUNS = Number(process.env['BROOK_PROPERTY_RUNS'] ?? 300);
const MAX_COMMANDS = 40;

async function runScenario(ordering: Ordering, scenario: Scenario): Promise<void> {
  const harness = await DeliveryHarness.open(ordering, scenario);
  for (const command of scenario.commands) await harness.run(command);
  await harness.drain();
}

/** Shrunk counterexamples the property found, replayed as they were. */
describe('delivery engine regressions (from the property)', () => {
  const join = (maxInFlight = 1): Command => ({ kind: 'join', maxInFlight, style: 'iterator' });
  /** A member joins with maxDeliveries 1: it reconfigures the group if empty (after every member crashed, with `evict`). */
  const joinWithOneAttempt = (evict: boolean, ackTimeoutMs = 500): Command => ({
    kind: 'reconfigure', settings: { ackTimeoutMs, maxDeliveries: 1, backoff: { initialMs: 50, maxMs: 400, multiplier: 2, jitter: 0.2 } },
    evict, maxInFlight: 1, style: 'iterator',
  });

  it('a member crashing on the last allowed attempt dead-letters the record (no delivery beyond maxDeliveries)', async () => {
    await runScenario('none', {
      partitions: 2, seed: 1,
      commands: [
        { kind: 'produce', keys: [null] }, join(), { kind: 'settle', pick: 0, action: { type: 'nack' } },
        { kind: 'advance', ms: 1320 }, { kind: 'crash', pick: 0 },
      ],
    });
  });

  it("'partition': after rebalances, a member leaving with the record on its last attempt dead-letters it", async () => {
    // Rebalance at #1 (no failed attempt), its member leaves at #2 and again at #3: dead-lettered.
    await runScenario('partition', {
      partitions: 2, seed: 1,
      commands: [join(), { kind: 'produce', keys: [0] }, join(), { kind: 'close', pick: 3 }, { kind: 'close', pick: 0 }],
    });
  });

  it('a member leaving while its delivery is being journaled does not use up an attempt (first delivery is #1)', async () => {
    // The iterator's close() lands while 0:0 is being handed to it: 0:0 went to the next member
    // as deliveryCount 2, redelivered, though nobody had seen it.
    await runScenario('none', {
      partitions: 2, seed: 1,
      commands: [
        { ...join(), together: true }, { kind: 'settle', pick: 0, action: { type: 'ack' } },
        { kind: 'produce', keys: [null], together: true }, { kind: 'produce', keys: [null], together: true },
        { kind: 'close', pick: 0, together: true }, { kind: 'advance', ms: 1, together: true },
      ],
    });
  });

  it('a member that begins to close while a delivery is being journaled for it does not get it', async () => {
    // c1 joins and closes in one turn, while 1:0 is being handed to it.
    await runScenario('none', {
      partitions: 2, seed: 1,
      commands: [
        { ...join(), together: true }, { kind: 'produce', keys: [null, null], together: true }, { kind: 'settle', pick: 0, action: { type: 'ack' } },
        { kind: 'join', maxInFlight: 1, style: 'handler', together: true }, { kind: 'close', pick: 3, together: true },
        { kind: 'settle', pick: 0, action: { type: 'ack' }, together: true },
      ],
    });
  });

  it('an attempt given back is journaled as such: after a restart the record comes back as #2, not #3', async () => {
    // 0:0 was delivered once; its second hand-out (to c1) was cut short, then the power went.
    await runScenario('none', {
      partitions: 2, seed: 1,
      commands: [
        { kind: 'produce', keys: [null], together: true }, join(), { kind: 'close', pick: 0, together: true },
        { ...join(), together: true }, { kind: 'close', pick: 0, together: true }, { kind: 'restart', together: true },
        { kind: 'produce', keys: [null], together: true },
      ],
    });
  });

  it('a record in flight on its last attempt when the broker loses power is dead-lettered after the restart', async () => {
    await runScenario('key', {
      partitions: 2, seed: 1,
      commands: [{ kind: 'produce', keys: [1] }, join(), { kind: 'advance', ms: 1500 }, { kind: 'advance', ms: 1500 }, { kind: 'restart' }],
    });
  });
  it('a reset queued behind another moves the group where its target points when its turn comes', async () => {
    // The second reset was worked out at the call (partition 0 empty: offset 1 clamped to 0) but
    // applied after the produce (offset 1 exists by then): [1,0] is right.
    await runScenario('key', {
      partitions: 2, seed: 1,
      commands: [
        join(), { kind: 'reset', to: 'latest', together: true }, { kind: 'reset', to: { offset: 1 }, together: true },
        { kind: 'produce', keys: [0] }, { kind: 'close', pick: 0 },
      ],
    });
  });

  it('a lease granted after a reconfigure shortened ackTimeoutMs expires at the new length', async () => {
    // c1 joins the emptied group with ackTimeoutMs 500; c0's lease of 1000 had been granted first.
    await runScenario('partition', {
      partitions: 2, seed: 1,
      commands: [
        joinWithOneAttempt(false, 1000), { kind: 'produce', keys: [null] },
        joinWithOneAttempt(true), { kind: 'reset', to: { agoMs: 0 } },
        { kind: 'advance', ms: 500 },
      ],
    });
  });

  it("'key': a record handed its key, then deleted by retention before anyone took it, passes the key on", async () => {
    // 1:0 of k1 is dead-lettered while both members are full; it hands k1 to 1:2, which retention
    // then deletes: 1:3 of k1 stayed blocked and the group never drained.
    await runScenario('key', {
      partitions: 2, seed: 1,
      commands: [
        { kind: 'produce', keys: [null], together: true }, { kind: 'produce', keys: [1, null, 1], together: true },
        { kind: 'advance', ms: 500, together: true }, { ...join(2), together: true },
        { kind: 'settle', pick: 0, action: { type: 'ack' }, together: true }, { kind: 'settle', pick: 0, action: { type: 'nack' }, together: true },
        { ...join(), together: true }, { kind: 'produce', keys: [null, 1, null], together: true },
        { kind: 'advance', ms: 1747, together: true }, { kind: 'advance', ms: 1490, together: true }, { kind: 'retain', together: true },
      ],
    });
  });

  it('a delivery an iterator takes from its queue after a reset made it stale is stale, not of the reset\'s epoch', async () => {
    // 0:0#1 was handed to c0's queue, then the reset (racing it) replayed 0:0, which went to c0
    // again as #1: the first one, taken from the queue after the reset, was counted as current.
    await runScenario('key', {
      partitions: 2, seed: 1,
      commands: [
        { ...joinWithOneAttempt(false), together: true },
        { kind: 'produce', keys: [null], together: true }, { kind: 'reset', to: { agoMs: 0 } },
        { kind: 'settle', pick: 0, action: { type: 'extend' }, together: true },
      ],
    });
  });

  it('an iterator closed with deliveries waiting unread in its queue: each is given back (\'unsent\'), and comes again with the same deliveryCount', async () => {
    await runScenario('none', {
      partitions: 2, seed: 1,
      commands: [
        { ...join(2), together: true }, { kind: 'produce', keys: [null, null], together: true },
        { kind: 'produce', keys: [null], together: true }, { kind: 'close', pick: 0, together: true }, { kind: 'advance', ms: 1, together: true },
      ],
    });
  });

  it('deliveries a reset made stale while they waited unread in an iterator\'s queue still reach the loop, stale: only those given back are skipped', async () => {
    // 1:0 and 1:1 (#1) waited in c0's queue when the reset replayed them to c0 as #1 again. The
    // loop skipped every stale one, with no event to say so: the model paired the replayed
    // deliveries with the epoch of the skipped ones ("in flight to c0, who never got it").
    await runScenario('none', {
      partitions: 2, seed: 1,
      commands: [
        { ...join(2), together: true }, { kind: 'produce', keys: [0, null], together: true },
        { kind: 'reset', to: { agoMs: 0 }, together: true }, { kind: 'settle', pick: 0, action: { type: 'reject' } },
      ],
    });
  });

  it('a reset whose offsets retention passed while they were worked out restarts at startOffset: nothing is lost twice', async () => {
    // 0:0 was dead-lettered; the timestamp reset found it, retention deleted it (0:0 dying and
    // lost), then the reset moved the group back to 0: 0:0 was reported lost a second time.
    await runScenario('none', {
      partitions: 2, seed: 1,
      commands: [
        { ...joinWithOneAttempt(false), together: true },
        { kind: 'produce', keys: [null], together: true }, { kind: 'crash', pick: 0, together: true },
        { kind: 'advance', ms: 2001, together: true }, { kind: 'produce', keys: [null], together: true },
        { kind: 'reset', to: { agoMs: 2001 }, together: true }, { kind: 'retain', together: true }, { kind: 'advance', ms: 1, together: true },
      ],
    });
  });

  it('two resets in one turn to the same offsets, applied in the other order than called, are each matched to an event', async () => {
    await runScenario('none', {
      partitions: 2, seed: 1,
      commands: [
        { kind: 'produce', keys: [null], together: true }, { kind: 'advance', ms: 500, together: true },
        { kind: 'produce', keys: [null], together: true }, { ...join(), together: true }, { kind: 'restart', together: true },
        { kind: 'reset', to: { agoMs: 500 }, together: true }, { kind: 'reset', to: 'earliest', together: true },
        { ...joinWithOneAttempt(false), together: true },
      ],
    });
  });

  it("'partition': a reset passing over a record whose interrupted dead-letter copy never began: its later copy decides it", async () => {
    // 1:0 had no attempt left under the new maxDeliveries when the reset replayed it; its lease
    // then expired on #1 and its copy was taken for one the reset had left behind.
    await runScenario('partition', {
      partitions: 2, seed: 1,
      commands: [
        { ...join(), together: true }, { kind: 'produce', keys: [0], together: true }, { kind: 'produce', keys: [null], together: true },
        { ...joinWithOneAttempt(true), together: true },
        { kind: 'reset', to: { agoMs: 0 }, together: true }, { kind: 'advance', ms: 500, together: true },
      ],
    });
  });

  it("'key': a reset racing retention is raised to startOffset in the step that applies it, so no pass runs between them", async () => {
    // Raising the reset's offsets one await before applying them let the retention pass run in
    // between: resetGroup resolved with [0,0] before any groupReset moved the group there.
    await runScenario('key', {
      partitions: 2, seed: 1,
      commands: [
        { kind: 'produce', keys: [0], together: true }, { kind: 'advance', ms: 1410, together: true },
        { ...joinWithOneAttempt(false), together: true }, { kind: 'produce', keys: [null, null], together: true },
        { kind: 'advance', ms: 591, together: true }, { kind: 'reset', to: 'earliest', together: true },
        { kind: 'retain', together: true }, { kind: 'settle', pick: 0, action: { type: 'ack' }, together: true },
      ],
    });
  });

  it("switched from 'none' to 'key': a record nacked under 'none' does not take its key ahead of an earlier one never delivered", async () => {
    // 1:1 (key 0) was nacked under 'none' while 1:0 (key 0) waited unread in a lazy loop's queue;
    // read again under 'key', 1:1 went first (a redelivery), and 1:0 waited behind it.
    const settings = { ackTimeoutMs: 500, maxDeliveries: 2, backoff: { initialMs: 50, maxMs: 400, multiplier: 2, jitter: 0.2 } };
    await runScenario('partition', {
      partitions: 2, seed: 1,
      commands: [
        { kind: 'produce', keys: [null], together: true },
        { kind: 'reconfigure', settings, evict: false, maxInFlight: 1, style: 'iterator', ordering: 'none', together: true },
        { kind: 'produce', keys: [0], together: true }, { kind: 'join', maxInFlight: 1, style: 'lazy', together: true },
        { kind: 'produce', keys: [0, null], together: true }, { kind: 'settle', pick: 0, action: { type: 'nack' }, together: true },
        { kind: 'reconfigure', settings, evict: true, maxInFlight: 1, style: 'iterator', ordering: 'key', together: true },
        { kind: 'produce', keys: [null], together: true },
      ],
    });
  });
});

describe.each(['none', 'key', 'partition'] as const)("delivery engine, ordering '%s' (model-based)", (ordering) => {
  it('keeps every delivery invariant under random produce / join / settle / crash / time / restart / reset / reconfigure / retention', async () => {
    await fc.assert(fc.asyncProperty(scenarioArb(MAX_COMMANDS), (scenario) => runScenario(ordering, scenario)), { numRuns: NUM_RUNS });
  });
});
