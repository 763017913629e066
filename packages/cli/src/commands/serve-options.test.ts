import { describe, expect, it } from 'vitest';
import { DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_PORT, parseServeOptions } from './serve-options.js';

const broker = (args: string[]) => parseServeOptions(args).broker;

describe('brook serve options', () => {
  it('defaults to a data dir in the current directory with the broker default fsync', () => {
    expect(parseServeOptions([])).toEqual({ broker: { dataDir: DEFAULT_DATA_DIR }, listen: { port: DEFAULT_PORT, host: DEFAULT_HOST } });
  });

  it('parses --data, --memory and every --fsync form', () => {
    expect(broker(['--data', '/tmp/x', '--fsync', 'never'])).toEqual({ dataDir: '/tmp/x', fsync: 'never' });
    expect(broker(['--memory', '--fsync', '250'])).toEqual({ storage: 'memory', fsync: { intervalMs: 250 } });
    expect(broker(['--fsync', 'always']).fsync).toBe('always');
  });

  it('parses --port, --host and --token, the token also from BROOK_TOKEN', () => {
    expect(parseServeOptions(['--port', '0', '--host', '0.0.0.0', '--token', 's3cret']).listen).toEqual({ port: 0, host: '0.0.0.0', token: 's3cret' });
    expect(parseServeOptions([], { BROOK_TOKEN: 'from-env' }).listen.token).toBe('from-env');
    expect(parseServeOptions(['--token', 'flag'], { BROOK_TOKEN: 'env' }).listen.token).toBe('flag');
  });

  it.each([['--fsync', 'sometimes'], ['--fsync', '0'], ['--data'], ['--bogus'], ['--fsync', '--memory'], ['--port', '65536'], ['--port', 'x'], ['--token']])(
    'rejects %s %s with INVALID_CONFIG',
    (...args) => {
      expect(() => parseServeOptions(args.filter((a): a is string => typeof a === 'string'))).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG' }),
      );
    },
  );
});
