/**
 * fast-check integration: exploring random seeds and plans finds the receipts bug and shrinks the
 * plan to one fault; the fixed consumer survives the same exploration. docs/testing.md shows that
 * shrunk failure's report as it is.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { receiptsScenario } from './examples/receipts.js';
import { explore, faultPlanArbitrary, simulationProperty } from './fast-check.js';
import { checkFaultPlan } from './fault-plan.js';

const EXPLORATION = { numRuns: 40, fcSeed: 1234, faults: { maxFaults: 3, deliveries: 6, horizonMs: 2_000 } };

describe('fast-check integration', () => {
  it('finds the duplicate receipt and shrinks the plan to a single fault', async () => {
    const result = await explore(fc, () => receiptsScenario({ fixed: false }), EXPLORATION);
    expect(result.ok).toBe(false);
    const failure = result.failure!;
    expect(failure.plan).toHaveLength(1);
    expect(failure.violations.map((v) => v.checker)).toContain('duplicateEffect');
    expect(failure.report()).toContain(`BROOK_SIM_PLAN='${JSON.stringify(failure.plan)}'`);
    const docs = readFileSync(new URL('../../../../docs/testing.md', import.meta.url), 'utf8');
    const shown = /## 3\. The failure, shrunk[\s\S]*?```\n([\s\S]*?)\n```/.exec(docs)![1];
    expect(failure.report()).toBe(shown);
  });

  it('finds nothing in the fixed consumer', async () => {
    const result = await explore(fc, () => receiptsScenario({ fixed: true }), EXPLORATION);
    expect(result.failure?.report()).toBeUndefined();
    expect(result.ok).toBe(true);
  });

  it('plans from the arbitrary are valid plans, and the property works with fc.assert', async () => {
    const consumers = ['a', 'b'];
    fc.assert(fc.property(faultPlanArbitrary(fc, { consumers, maxFaults: 4 }), (plan) => {
      expect(checkFaultPlan(plan, consumers)).toBe(plan);
    }));
    await fc.assert(simulationProperty(fc, () => receiptsScenario({ fixed: true }), { faults: { kinds: ['loseAck', 'duplicateDelivery'] } }), { numRuns: 10, seed: 5 });
  });
});
