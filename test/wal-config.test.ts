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

  it.each<[string, Partial<FileBufferOptions>]>([
    ['maxRecords', { maxRecords: 0 }],
    ['maxRecords', { maxRecords: 1.5 }],
    ['maxBytes', { maxBytes: 64 }],
    ['maxAgeMs', { maxAgeMs: -1 }],
    ['fsyncIntervalMs', { fsync: { intervalMs: 0 } }],
    ['fsync', { fsync: 'sometimes' as never }],
    ['walBytesMax', { maxBytes: 8192, walBytesMax: 8192 }],
    ['onFull', { onFull: 'drop' as never }],
    ['segmentBytesMax', { segmentBytesMax: 10 }],
    ['dir', { dir: '' }],
    ['maxRecord', { maxRecord: 10 } as never],
  ])('rejects a bad %s', async (option, bad) => {
    const host = new SimulatedHost();
    await expect(host.open(bad)).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option } });
  });
});
