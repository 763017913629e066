import { describe, expect, it } from 'vitest';
import { settleEach, TEARDOWN_STEPS_MAX } from './steps.js';

/** Steps that each wait until released, counting how many run at once. */
function heldSteps() {
  let running = 0;
  let peak = 0;
  const releases: (() => void)[] = [];
  const step = async (fail: boolean) => {
    running += 1;
    peak = Math.max(peak, running);
    await new Promise<void>((resolve) => releases.push(resolve));
    running -= 1;
    if (fail) throw new Error('failed step');
  };
  const releaseAll = async () => {
    while (releases.length > 0) {
      releases.splice(0).forEach((release) => release());
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { step, releaseAll, get peak() { return peak; }, get running() { return running; } };
}

describe('settleEach', () => {
  it(`runs TEARDOWN_STEPS_MAX (${TEARDOWN_STEPS_MAX}) steps at once, no more, and every step`, async () => {
    const held = heldSteps();
    const items = Array.from({ length: TEARDOWN_STEPS_MAX * 3 + 1 }, () => false);
    const done = settleEach(items, held.step);
    await new Promise((resolve) => setImmediate(resolve));
    expect(held.running).toBe(TEARDOWN_STEPS_MAX);
    await held.releaseAll();
    await done;
    expect(held.peak).toBe(TEARDOWN_STEPS_MAX);
  });

  it('runs all of fewer items than the bound at once', async () => {
    const held = heldSteps();
    const done = settleEach([false, false, false], held.step);
    await new Promise((resolve) => setImmediate(resolve));
    expect(held.running).toBe(3);
    await held.releaseAll();
    await done;
  });

  it('runs every step whatever became of the others, then rejects with the first failure in the items\' order', async () => {
    const ran: number[] = [];
    const step = async (n: number) => {
      await new Promise((resolve) => setImmediate(resolve));
      ran.push(n);
      if (n === 2 || n === 5) throw new Error(`step ${n}`);
    };
    await expect(settleEach([1, 2, 3, 4, 5, 6], step, 2)).rejects.toThrow('step 2');
    expect(ran.sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('takes a step that throws before it returns a promise as a failure, and runs the rest', async () => {
    const ran: number[] = [];
    const step = (n: number): Promise<void> => {
      if (n === 1) throw new Error('thrown at once');
      ran.push(n);
      return Promise.resolve();
    };
    await expect(settleEach([1, 2, 3], step, 1)).rejects.toThrow('thrown at once');
    expect(ran).toEqual([2, 3]);
  });

  it('resolves at once for no items', async () => {
    await expect(settleEach([], () => Promise.reject(new Error('never')))).resolves.toBeUndefined();
  });
});
