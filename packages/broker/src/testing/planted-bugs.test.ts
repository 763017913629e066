/**
 * The kit's proof: from a seed and a fault plan, it finds each planted bug in the example
 * consumers with the right violation, and nothing in their corrected versions.
 */
import { describe, expect, it } from 'vitest';
import { figure11_2Plan, figure11_2Scenario } from './examples/figure-11-2.js';
import { ledgerPlan, ledgerScenario } from './examples/ledger.js';
import { orderStatusPlan, orderStatusScenario } from './examples/order-status.js';
import { poisonScenario } from './examples/poison.js';
import { receiptsPlan, receiptsScenario } from './examples/receipts.js';
import type { FaultPlan } from './fault-plan.js';
import { simulate, type Scenario, type SimulationResult } from './simulate.js';

const SEED = 42;

async function run(scenario: Scenario, faults: FaultPlan): Promise<SimulationResult> {
  return simulate({ ...scenario, seed: SEED, faults, command: 'npx vitest run packages/broker/src/testing/planted-bugs.test.ts' });
}

const checkersFailing = (result: SimulationResult) => result.results.filter((r) => !r.ok).map((r) => r.checker);

describe('planted bugs', () => {
  it('non-idempotent side effect under crash-after-effect: duplicateEffect', async () => {
    const buggy = await run(receiptsScenario({ fixed: false }), receiptsPlan);
    expect(checkersFailing(buggy)).toEqual(['duplicateEffect']);
    expect(buggy.violations[0]!.message).toContain('receipt-email(order-3) happened 2 times');
    const fixed = await run(receiptsScenario({ fixed: true }), receiptsPlan);
    expect(fixed.report()).toContain('✓ simulation passed');
  });

  it("order-dependent state machine under ordering 'none' with a redelivery: perKeyOrder", async () => {
    const scenario = orderStatusScenario({ fixed: false });
    const buggy = await run(scenario, orderStatusPlan);
    expect(checkersFailing(buggy)).toContain('perKeyOrder');
    expect(scenario.statuses.get('order-7')).toBe('paid');
    const fixedScenario = orderStatusScenario({ fixed: true });
    const fixed = await run(fixedScenario, orderStatusPlan);
    expect(fixed.report()).toContain('✓ simulation passed');
    expect(fixedScenario.statuses.get('order-7')).toBe('shipped');
  });

  it('ack before processing, crash in between: lost', async () => {
    const buggy = await run(ledgerScenario({ fixed: false }), ledgerPlan);
    expect(checkersFailing(buggy)).toEqual(['lost']);
    const fixed = await run(ledgerScenario({ fixed: true }), ledgerPlan);
    expect(fixed.report()).toContain('✓ simulation passed');
  });

  it('poison record without maxDeliveries: hotLoop', async () => {
    const buggy = await run(poisonScenario({ fixed: false }), []);
    expect(checkersFailing(buggy)).toContain('hotLoop');
    const fixed = await run(poisonScenario({ fixed: true }), []);
    expect(fixed.report()).toContain('✓ simulation passed');
  });

  it("DDIA figure 11-2: under 'none' the crash reorders m3 after m4; 'key' and 'partition' keep the order", async () => {
    const none = figure11_2Scenario('none');
    const reordered = await run(none, figure11_2Plan);
    expect(none.processed.indexOf('m4')).toBeLessThan(none.processed.indexOf('m3'));
    expect(reordered.violations.map((v) => v.message)).toContainEqual(expect.stringContaining('r3 (offset 2) was processed after r4 (offset 3)'));
    for (const ordering of ['key', 'partition'] as const) {
      const scenario = figure11_2Scenario(ordering);
      const result = await run(scenario, figure11_2Plan);
      expect(scenario.processed).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
      expect(result.report()).toContain('✓ simulation passed');
    }
  });
});
