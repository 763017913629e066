import { afterEach, expect, it, vi } from 'vitest';
import { PROGRESS_INTERVAL_MS, countAndRate, startProgress } from './progress.js';

afterEach(() => vi.useRealTimers());

it('progress says nothing for short runs and one line a second for long ones, until stopped', () => {
  vi.useFakeTimers();
  const lines: string[] = [];
  let sent = 0;
  const stop = startProgress(() => sent, () => `${sent} records sent`, (line) => lines.push(line));
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

it('a second in which nothing moved prints nothing (an idle `tail -f | brook produce` is quiet), the next move prints again', () => {
  vi.useFakeTimers();
  const lines: string[] = [];
  let sent = 0;
  const stop = startProgress(() => sent, (elapsedMs) => countAndRate(sent, 'record', elapsedMs, 'sent'), (line) => lines.push(line));
  vi.advanceTimersByTime(3 * PROGRESS_INTERVAL_MS);
  expect(lines).toEqual([]);
  sent = 1;
  vi.advanceTimersByTime(PROGRESS_INTERVAL_MS);
  vi.advanceTimersByTime(5 * PROGRESS_INTERVAL_MS);
  sent = 3;
  vi.advanceTimersByTime(PROGRESS_INTERVAL_MS);
  stop();
  expect(lines).toEqual(['brook: 1 record sent (0/s)\n', 'brook: 3 records sent (0/s)\n']);
});

it('rates are per second of elapsed time, counts in the singular for one', () => {
  expect(countAndRate(3000, 'record', 1500, 'sent')).toBe('3000 records sent (2000/s)');
  expect(countAndRate(0, 'record', 0, 'sent')).toBe('0 records sent (0/s)');
  expect(countAndRate(1, 'record', 1000, 'consumed')).toBe('1 record consumed (1/s)');
});
