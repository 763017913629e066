/**
 * The timer bridge against Node's own timers: handler code given `ctx.timers` instead of
 * `node:timers` must see the same delays and the same order.
 */
import { VirtualClock } from '@brook/protocol';
import { describe, expect, it } from 'vitest';
import { virtualTimers } from './virtual-timers.js';

function bridge() {
  const clock = new VirtualClock();
  const startMs = clock.now();
  const fired: string[] = [];
  const at = (name: string) => () => fired.push(`${name}@${clock.now() - startMs}`);
  return { clock, timers: virtualTimers(clock), fired, at };
}

describe('virtualTimers', () => {
  it("a delay Node cannot hold (Infinity, over 2^31 - 1 ms) fires after 1 ms, as Node's does, instead of failing the clock's assert or never", () => {
    const { clock, timers, fired, at } = bridge();
    timers.setTimeout(at('infinite'), Infinity);
    timers.setTimeout(at('overflow'), 2 ** 31);
    timers.setTimeout(at('max'), 2 ** 31 - 1);
    timers.setTimeout(at('text'), '5' as unknown as number);
    clock.advance(10);
    expect(fired).toEqual(['infinite@1', 'overflow@1', 'text@5']);
  });

  it('equal deadlines fire in the order they were set; a timer set inside a callback, and a cleared interval, behave as in Node', () => {
    const { clock, timers, fired, at } = bridge();
    timers.setTimeout(at('a'), 10);
    timers.setTimeout(() => {
      at('b')();
      timers.setTimeout(at('inner'), 0);
    }, 10);
    timers.setTimeout(at('c'), 10);
    let ticks = 0;
    const interval = timers.setInterval(() => {
      at('tick')();
      if (++ticks === 2) timers.clearInterval(interval);
    }, 4);
    clock.advance(100);
    expect(fired).toEqual(['tick@4', 'tick@8', 'a@10', 'b@10', 'c@10', 'inner@11']);
  });
});
