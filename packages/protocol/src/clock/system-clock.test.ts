import { afterEach, describe, expect, it, vi } from 'vitest';
import { SystemClock } from './system-clock.js';

describe('SystemClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads real time and fires real timers', async () => {
    const clock = new SystemClock();
    const before = Date.now();
    expect(Math.abs(clock.now() - before)).toBeLessThan(1_000);
    await new Promise<void>((resolve) => clock.setTimer(5, resolve));
  });

  it('cancel stops a timer', async () => {
    vi.useFakeTimers();
    const clock = new SystemClock();
    const callback = vi.fn();
    clock.setTimer(10, callback).cancel();
    vi.advanceTimersByTime(20);
    expect(callback).not.toHaveBeenCalled();
  });

  it('chains delays beyond setTimeout’s 2^31-1 ms limit instead of firing early', () => {
    vi.useFakeTimers();
    const clock = new SystemClock();
    const callback = vi.fn();
    const delayMs = 2 ** 31 + 10_000;
    const timer = clock.setTimer(delayMs, callback);
    vi.advanceTimersByTime(delayMs - 1);
    expect(callback).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(callback).toHaveBeenCalledOnce();
    timer.cancel();
  });

  it('a chained long timer ends on the monotonic reading, however the wall clock steps meanwhile', () => {
    vi.useFakeTimers();
    const clock = new SystemClock();
    const callback = vi.fn();
    const delayMs = 2 ** 31 + 10_000;
    clock.setTimer(delayMs, callback);
    vi.setSystemTime(Date.now() - 3_600_000);
    vi.advanceTimersByTime(delayMs);
    expect(callback).toHaveBeenCalledOnce();
  });

  it('cancel also stops a chained long timer', () => {
    vi.useFakeTimers();
    const clock = new SystemClock();
    const callback = vi.fn();
    const timer = clock.setTimer(2 ** 32, callback);
    vi.advanceTimersByTime(2 ** 31);
    timer.cancel();
    vi.advanceTimersByTime(2 ** 32);
    expect(callback).not.toHaveBeenCalled();
  });

  it('keeps its promise "no sooner than delayMs" on monotonicMs() when setTimeout is faked but performance.now is not', () => {
    // vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }) (and vitest 2's default list):
    // a timer fires at once in real time, and a caller that checks the monotonic reading (a
    // lease, a backoff) would find it not yet due and wait for ever on a faked timer.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = new SystemClock();
    const readings: number[] = [];
    const start = clock.monotonicMs();
    clock.setTimer(1_000, () => {
      readings.push(clock.monotonicMs() - start);
      clock.setTimer(100, () => readings.push(clock.monotonicMs() - start));
    });
    vi.advanceTimersByTime(1_100);
    expect(readings).toHaveLength(2);
    expect(readings[0]).toBeGreaterThanOrEqual(1_000);
    expect(readings[1]).toBeGreaterThanOrEqual(1_100);
  });

  it('with real timers, its monotonic reading is performance.now', async () => {
    const clock = new SystemClock();
    await new Promise<void>((resolve) => clock.setTimer(20, resolve));
    expect(Math.abs(clock.monotonicMs() - performance.now())).toBeLessThan(1);
  });

  it('unrefs timers unless keepAlive is set', () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    new SystemClock().setTimer(10, () => {});
    new SystemClock({ keepAlive: true }).setTimer(10, () => {});
    const [background, kept] = spy.mock.results.map((result) => result.value as NodeJS.Timeout);
    expect(background!.hasRef()).toBe(false);
    expect(kept!.hasRef()).toBe(true);
  });
});
