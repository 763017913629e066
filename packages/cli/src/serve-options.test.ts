import { describe, expect, it } from 'vitest';
import { DEFAULT_DATA_DIR, parseServeOptions } from './serve-options.js';

describe('brook serve options', () => {
  it('defaults to a data dir in the current directory with the broker default fsync', () => {
    expect(parseServeOptions([])).toEqual({ dataDir: DEFAULT_DATA_DIR });
  });

  it('parses --data, --memory and every --fsync form', () => {
    expect(parseServeOptions(['--data', '/tmp/x', '--fsync', 'never'])).toEqual({ dataDir: '/tmp/x', fsync: 'never' });
    expect(parseServeOptions(['--memory', '--fsync', '250'])).toEqual({ storage: 'memory', fsync: { intervalMs: 250 } });
    expect(parseServeOptions(['--fsync', 'always']).fsync).toBe('always');
  });

  it.each([['--fsync', 'sometimes'], ['--fsync', '0'], ['--data'], ['--bogus'], ['--fsync', '--memory']])(
    'rejects %s %s with INVALID_CONFIG',
    (...args) => {
      expect(() => parseServeOptions(args.filter((a): a is string => typeof a === 'string'))).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG' }),
      );
    },
  );
});
