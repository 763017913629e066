/**
 * The kit's proof: from a seed and a fault plan, it finds each planted bug in the example
 * consumers with the right violation, and nothing in their corrected versions.
 */
import { describe, expect, it } from 'vitest';
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
});
