import { afterEach, expect, it, vi } from 'vitest';
import { PROGRESS_INTERVAL_MS, countAndRate, startProgress } from './progress.js';

afterEach(() => vi.useRealTimers());

it('progress says nothing for short runs and one line a second for long ones, until stopped', () => {
  vi.useFakeTimers();
  const lines: string[] = [];
  let sent = 0;
  const stop = startProgress(() => `${sent} records sent`, (line) => lines.push(line));
  sent = 500;
  vi.advanceTimersByTime(PROGRESS_INTERVAL_MS - 1);
  expect(lines).toEqual([]);
  vi.advanceTimersByTime(1);
  sent = 1200;
  vi.advanceTimersByTime(PROGRESS_INTERVAL_MS);
  stop();
  vi.advanceTimersByTime(5 * PROGRESS_INTERVAL_MS);
  expect(lines).toEqual(['brook: 500 records sent\n', 'brook: 1200 records sent\n']);
});

it('rates are per second of elapsed time', () => {
  expect(countAndRate(3000, 'records sent', 1500)).toBe('3000 records sent (2000/s)');
  expect(countAndRate(0, 'records sent', 0)).toBe('0 records sent (0/s)');
});
