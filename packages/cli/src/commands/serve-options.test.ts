import { describe, expect, it } from 'vitest';
import { DEFAULT_DATA_DIR, exposureWarnings, parseServeOptions } from './serve-options.js';

const broker = (args: string[]) => parseServeOptions(args).broker;

describe('brook serve options', () => {
  it('defaults to a data dir in the current directory with the broker default fsync', () => {
    expect(parseServeOptions([])).toEqual({ broker: { dataDir: DEFAULT_DATA_DIR }, listen: { port: 7070, host: '127.0.0.1' } }); // as README.md documents them
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

  it('parses --allow-origin and --allow-host, each repeatable, normalised as the broker has them', () => {
    expect(parseServeOptions(['--allow-origin', 'http://localhost:5173/', '--allow-origin', '*', '--allow-host', 'Brook.Test']).listen).toEqual({
      port: 7070, host: '127.0.0.1', allowedOrigins: ['http://localhost:5173', '*'], allowedHosts: ['brook.test'],
    });
  });

  it.each([['--allow-origin', 'localhost:5173', /^INVALID_CONFIG: --allow-origin must be an origin such as http:\/\/localhost:5173, or '\*', got localhost:5173\n/],
    ['--allow-host', 'brook.test:7070', /^INVALID_CONFIG: --allow-host must be a host name such as brook.test \(no port\), or '\*', got brook.test:7070\n/]])(
    '%s %s is bad usage naming the flag',
    (flag, value, message) => {
      expect(() => parseServeOptions([flag, value])).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(message) }));
    },
  );

  it('warns of a host others can reach with no token, and of every origin admitted with no token; not with a token', () => {
    expect(exposureWarnings(parseServeOptions([]).listen, 7070)).toEqual([]);
    expect(exposureWarnings(parseServeOptions(['--host', 'localhost']).listen, 7070)).toEqual([]);
    expect(exposureWarnings(parseServeOptions(['--host', '::1']).listen, 7070)).toEqual([]);
    const open = exposureWarnings(parseServeOptions(['--host', '0.0.0.0', '--allow-origin', '*']).listen, 7071);
    expect(open).toHaveLength(2);
    expect(open[0]).toMatch(/^brook: warning: listening on 0\.0\.0\.0 with no token: anyone who can reach port 7071 can produce, consume and delete topics/);
    expect(open[1]).toMatch(/^brook: warning: --allow-origin '\*' with no token: any web page/);
    expect(exposureWarnings(parseServeOptions(['--host', '0.0.0.0', '--allow-origin', '*', '--token', 't']).listen, 7071)).toEqual([]);
  });

  it.each([['--fsync', 'sometimes'], ['--fsync', '0'], ['--data'], ['--bogus'], ['--fsync', '--memory'], ['--port', '65536'], ['--port', 'x'], ['--token']])(
    'rejects %s %s with INVALID_CONFIG',
    (...args) => {
      expect(() => parseServeOptions(args.filter((a): a is string => typeof a === 'string'))).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG' }),
      );
    },
  );

  // Limits the broker would check only at open, in its own words (fsync.intervalMs, host) and
  // without the usage; an empty --data failed as IO_ERROR (exit 1, "readdir  failed"), and an
  // empty --token ("$UNSET") silently served with no token at all.
  it.each([
    [['--fsync', '86400001'], /^INVALID_CONFIG: --fsync must be always, never or a number of milliseconds from 1 to 86400000, got 86400001\n/],
    [['--data', ''], /^INVALID_CONFIG: --data must not be empty\n/],
    [['--host', ''], /^INVALID_CONFIG: --host must not be empty\n/],
    [['--host='], /^INVALID_CONFIG: --host must not be empty\n/],
    [['--token', ''], /^INVALID_CONFIG: --token must not be empty \(leave it out to serve without a token\)\n/],
  ])('%j is bad usage in the CLI\'s words, naming the flag, with the usage', (args, message) => {
    let error: unknown;
    try {
      parseServeOptions(args);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(message) });
    expect((error as Error).message).toContain('usage: brook serve');
  });

  it('the largest --fsync interval the broker takes is accepted', () => {
    expect(broker(['--fsync', '86400000']).fsync).toEqual({ intervalMs: 86_400_000 });
  });
});
