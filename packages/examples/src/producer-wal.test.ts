/**
 * The seed's demo on the WAL producer (`brook demo producer-wal`): 15 records, 3 per batch, a
 * ~30 % chance of a crash before each put. Whatever the seed, the topic ends with 1..15 exactly
 * once in order; seed 13 crashes between a send and its commit, so a resend is dropped by the
 * broker as a duplicate; and a seed replays the same trace.
 */
import { describe, expect, it } from 'vitest';
import { runDemo } from './index.js';
import { runWalDemo } from './producer-wal.js';

const ONE_TO_15 = Array.from({ length: 15 }, (_, i) => i + 1);

describe('WAL producer demo', () => {
  it('seed 13: crashes, a duplicate dropped by the broker, 1..15 exactly once, the same trace on a rerun', async () => {
    const first = await runWalDemo({ seed: 13 });
    expect(first.topic).toEqual(ONE_TO_15);
    expect(first.crashes).toBeGreaterThan(3);
    expect(first.duplicates).toBeGreaterThan(0);
    expect(first.trace.some((line) => line.includes('acked but not committed'))).toBe(true);
    expect((await runWalDemo({ seed: 13 })).trace).toEqual(first.trace);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])('seed %i: 1..15 exactly once, in order', async (seed) => {
    expect((await runWalDemo({ seed })).topic).toEqual(ONE_TO_15);
  });
});

describe('brook demo producer-wal', () => {
  it('runs through runDemo with its default seed and says the phenomenon showed', async () => {
    const lines: string[] = [];
    const result = await runDemo('producer-wal', { write: (line) => lines.push(line) });
    expect(result).toMatchObject({ seed: 13, shown: true, facts: { topic: ONE_TO_15 } });
    expect(lines.at(-1)).toMatch(/^verdict: .* the topic holds 1\.\.15 exactly once in order: yes$/);
  });
});
