/**
 * The kit at the edges of its options: a plan or an option outside its documented range is an
 * INVALID_CONFIG naming it, before anything runs; never a silent no-op or an assertion crash.
 */
import { describe, expect, it } from 'vitest';
import { checkFaultPlan } from './fault-plan.js';

const invalid = (pattern: RegExp) => expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(pattern) });

describe('fault plan limits', () => {
  it('a fault without the duration or delay its kind needs is rejected, not run as a fault that does nothing', () => {
    const consumers = ['c1'];
    expect(() => checkFaultPlan([{ kind: 'pauseConsumer', trigger: { delivery: 1 } }], consumers)).toThrow(invalid(/fault #1: pauseConsumer needs durationMs/));
    expect(() => checkFaultPlan([{ kind: 'slowConsumer', trigger: { delivery: 1 } }], consumers)).toThrow(invalid(/fault #1: slowConsumer needs delayMs/));
    expect(() => checkFaultPlan([{ kind: 'delayAck', trigger: { delivery: 1 } }], consumers)).toThrow(invalid(/fault #1: delayAck needs delayMs/));
  });

  it('a match trigger with a misspelt or mistyped field is rejected, not matched against every delivery or none', () => {
    const consumers = ['c1'];
    const withMatch = (match: unknown) => [{ kind: 'loseAck', trigger: { delivery: 1 } }, { kind: 'loseAck', trigger: { match } }];
    expect(() => checkFaultPlan(withMatch({ vlaue: 'm3' }), consumers)).toThrow(invalid(/fault #2: .*unknown match field "vlaue"/));
    expect(() => checkFaultPlan(withMatch({ key: 7 }), consumers)).toThrow(invalid(/fault #2: match.key must be a string/));
    expect(() => checkFaultPlan(withMatch({ deliveryCount: '2' }), consumers)).toThrow(invalid(/fault #2: match.deliveryCount must be an integer >= 1/));
    expect(checkFaultPlan(withMatch({ key: 'k', value: 'v', deliveryCount: 2 }), consumers)).toHaveLength(2);
  });
});
