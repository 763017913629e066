/** FileBuffer options: every limit checked at open against the one frozen table, INVALID_CONFIG otherwise. */
import { describe, expect, it } from 'vitest';
import { WAL_LIMITS, type FileBufferOptions } from '../packages/client/src/wal/index.js';
import { SimulatedHost } from './fixtures/wal-harness.js';

describe('FileBuffer options', () => {
  it('has one frozen table of limits, units in the names, defaults inside the limits', () => {
    expect(Object.isFrozen(WAL_LIMITS)).toBe(true);
    for (const [name, limit] of Object.entries(WAL_LIMITS)) {
      expect(name).toMatch(/(Records|Bytes|Ms|BytesMax|IntervalMs)$/);
      expect(limit.default).toBeGreaterThanOrEqual(limit.min);
      expect(limit.default).toBeLessThanOrEqual(limit.max);
    }
  });

  // Keyed by WAL_LIMITS, so a new limit without a row fails to compile.
  const LIMIT_OPTIONS: Record<keyof typeof WAL_LIMITS, (value: number) => Partial<FileBufferOptions>> = {
    maxRecords: (maxRecords) => ({ maxRecords }),
    maxBytes: (maxBytes) => ({ maxBytes }),
    maxAgeMs: (maxAgeMs) => ({ maxAgeMs }),
    walBytesMax: (walBytesMax) => ({ walBytesMax, maxBytes: WAL_LIMITS.maxBytes.min }), // walBytesMax >= maxBytes + 64
    segmentBytesMax: (segmentBytesMax) => ({ segmentBytesMax }),
    fsyncIntervalMs: (intervalMs) => ({ fsync: { intervalMs } }),
  };

  /** The option as the caller writes it, where that is not the table's name: `details.option` (README, Limits). */
  const WRITTEN_AS: Partial<Record<keyof typeof WAL_LIMITS, string>> = { fsyncIntervalMs: 'fsync.intervalMs' };

  it.each(Object.entries(LIMIT_OPTIONS))('%s: min and max open, one past either end (or a fraction) is INVALID_CONFIG naming the option as written', async (name, options) => {
    const { min, max } = WAL_LIMITS[name as keyof typeof WAL_LIMITS];
    const option = WRITTEN_AS[name as keyof typeof WAL_LIMITS] ?? name;
    for (const good of [min, max]) await (await new SimulatedHost().open(options(good))).close();
    for (const bad of [min - 1, max + 1, min + 0.5]) {
      await expect(new SimulatedHost().open(options(bad))).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option } });
    }
  });

  it.each<[string, Partial<FileBufferOptions>]>([
    ['fsync', { fsync: 'sometimes' as never }],
    ['walBytesMax', { maxBytes: 8192, walBytesMax: 8192 }],
    ['onFull', { onFull: 'drop' as never }],
    ['onFull', { onFull: null as never }], // only an absent option takes its default
    ['dir', { dir: null as never }],
    ['segmentBytesMax', { segmentBytesMax: 10 }],
    ['dir', { dir: '' }],
    ['maxRecord', { maxRecord: 10 } as never],
    ['fsync.everyMs', { fsync: { intervalMs: 10, everyMs: 5 } as never }],
  ])('rejects a bad %s', async (option, bad) => {
    const host = new SimulatedHost();
    await expect(host.open(bad)).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option } });
  });
});
