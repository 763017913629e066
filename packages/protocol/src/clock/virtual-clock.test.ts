import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from './virtual-clock.js';

const START_MS = 1_700_000_000_000;

describe('VirtualClock', () => {
  it('starts at startMs and only moves when advanced', () => {
    expect(new VirtualClock().now()).toBe(START_MS);
    const clock = new VirtualClock({ startMs: 5 });
    expect(clock.now()).toBe(5);
    clock.advance(10);
    expect(clock.now()).toBe(15);
  });

  it('stepWall steps now() only: monotonicMs() and the timers go on as before', () => {
    const clock = new VirtualClock({ startMs: 1_000 });
    const fired: Array<[number, number]> = [];
    clock.setTimer(100, () => fired.push([clock.now(), clock.monotonicMs()]));
    clock.stepWall(-500);
    expect([clock.now(), clock.monotonicMs()]).toEqual([500, 1_000]);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.stepWall(10_000);
    expect(clock.nextTimerAtMs()).toBe(1_100);
    clock.advance(1);
    expect(fired).toEqual([[10_600, 1_100]]);
  });

  it('fires timers in due order with now() at each due time, and ends at now + ms', () => {
    const clock = new VirtualClock({ startMs: 0 });
    const fired: Array<[string, number]> = [];
    for (const [name, delayMs] of [['c', 30], ['a', 10], ['late', 101], ['b', 20]] as const) {
      clock.setTimer(delayMs, () => fired.push([name, clock.now()]));
    }
    expect(clock.nextTimerAtMs()).toBe(10);
    clock.advance(100);
    expect(fired).toEqual([['a', 10], ['b', 20], ['c', 30]]);
    expect(clock.now()).toBe(100);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(1);
    expect(fired.at(-1)).toEqual(['late', 101]);
  });

  it('fires timers due at the same instant in the order they were scheduled', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    for (let i = 0; i < 50; i++) clock.setTimer(i % 2 === 0 ? 5 : 0, () => fired.push(i));
    clock.advance(5);
    const odd = Array.from({ length: 25 }, (_, i) => 2 * i + 1);
    expect(fired).toEqual([...odd, ...odd.map((i) => i - 1)]);
  });

  it('fires timers scheduled by callbacks when they fall inside the window', () => {
    const clock = new VirtualClock({ startMs: 0 });
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now());
      clock.setTimer(10, tick);
    };
    clock.setTimer(10, tick);
    clock.advance(45);
    expect(fired).toEqual([10, 20, 30, 40]);
    expect(clock.nextTimerAtMs()).toBe(50);
  });

  it('cancel removes a timer, and cancelling twice or after firing is a no-op', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    const a = clock.setTimer(1, () => fired.push('a'));
    const b = clock.setTimer(2, () => fired.push('b'));
    const c = clock.setTimer(3, () => fired.push('c'));
    b.cancel();
    b.cancel();
    expect(clock.pendingTimers()).toBe(2);
    clock.advance(1);
    a.cancel();
    clock.advance(5);
    c.cancel();
    expect(fired).toEqual(['a', 'c']);
    expect(clock.pendingTimers()).toBe(0);
    expect(clock.nextTimerAtMs()).toBeUndefined();
  });

  it('fires in (due, scheduling order) for any mix of schedules and cancels', () => {
    const plan = fc.array(fc.record({ delayMs: fc.nat(50), cancel: fc.boolean() }), { maxLength: 200 });
    fc.assert(
      fc.property(plan, (timers) => {
        const clock = new VirtualClock({ startMs: 0 });
        const fired: number[] = [];
        const handles = timers.map((t, i) => clock.setTimer(t.delayMs, () => fired.push(i)));
        timers.forEach((t, i) => t.cancel && handles[i]!.cancel());
        clock.advance(50);
        const expected = timers
          .map((t, i) => ({ ...t, i }))
          .filter((t) => !t.cancel)
          .sort((x, y) => x.delayMs - y.delayMs || x.i - y.i)
          .map((t) => t.i);
        expect(fired).toEqual(expected);
      }),
    );
  });

  it('rejects invalid delays and re-entrant advancing as bugs', () => {
    const clock = new VirtualClock();
    expect(() => clock.setTimer(-1, () => {})).toThrow(/assertion failed/);
    expect(() => clock.setTimer(Number.NaN, () => {})).toThrow(/assertion failed/);
    expect(() => clock.advance(-1)).toThrow(/assertion failed/);
    clock.setTimer(1, () => clock.advance(1));
    expect(() => clock.advance(1)).toThrow(/re-entrantly/);
  });

  it('advance does not run promise continuations between timers; advanceAsync does', async () => {
    const runChain = async (advance: (clock: VirtualClock) => Promise<void>): Promise<string[]> => {
      const clock = new VirtualClock({ startMs: 0 });
      const log: string[] = [];
      clock.setTimer(10, () => {
        void (async () => {
          await Promise.resolve();
          await new Promise<void>((resolve) => setImmediate(resolve));
          log.push(`chain done at ${clock.now()}`);
        })();
      });
      clock.setTimer(11, () => log.push('second timer'));
      await advance(clock);
      await new Promise<void>((resolve) => setImmediate(resolve));
      return log;
    };
    expect(await runChain(async (clock) => clock.advance(20))).toEqual(['second timer', 'chain done at 20']);
    expect(await runChain((clock) => clock.advanceAsync(20))).toEqual(['chain done at 10', 'second timer']);
  });

  it('advanceAsync fires timers that awaited work schedules inside the window', async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => clock.setTimer(ms, resolve));
    const stamps: number[] = [];
    const worker = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(100);
        stamps.push(clock.now());
      }
    })();
    await clock.advanceAsync(1_000);
    await worker;
    expect(stamps).toEqual([100, 200, 300]);
    expect(clock.now()).toBe(1_000);
  });

  it('runUntilIdle runs async work to completion and counts the timers it fired', async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => clock.setTimer(ms, resolve));
    let finishedAtMs = -1;
    void (async () => {
      await sleep(1_000);
      await sleep(60_000);
      finishedAtMs = clock.now();
    })();
    expect(await clock.runUntilIdle()).toBe(2);
    expect(finishedAtMs).toBe(61_000);
  });

  it('runUntilIdle gives up with TIMEOUT after maxTimers when timers keep re-arming', async () => {
    const clock = new VirtualClock();
    const rearm = (): void => void clock.setTimer(1, rearm);
    rearm();
    await expect(clock.runUntilIdle({ maxTimers: 50 })).rejects.toMatchObject({
      code: 'TIMEOUT',
      details: { maxTimers: 50, pendingTimers: 1 },
      // Says what to do: a broker with a retention check or a listener never idles.
      message: expect.stringContaining('advanceAsync(ms)'),
    });
    // The clock is usable again afterwards.
    clock.advance(1);
  });
});
