/**
 * Parsing of `brook serve` options. Kept apart from serve.ts so it can be tested without starting
 * anything. Unknown flags and bad values are errors with code INVALID_CONFIG, never ignored.
 */
import { DEFAULT_HOST, DEFAULT_PORT, FSYNC_INTERVAL_MS, isLoopbackHost, resolveAllowedHosts, resolveAllowedOrigins, type BrokerOptions, type ListenOptions } from '@brook/broker';
import { parseCommandArgs, type CommandSpec, type Env, type ParsedArgs } from '../cli-args.js';

export const DEFAULT_DATA_DIR = '.brook-data';

export const SERVE_SPEC: CommandSpec = {
  name: 'serve',
  summary: 'run a broker (WebSocket, /healthz and /metrics on one port)',
  options: {
    data: { type: 'string' }, memory: { type: 'boolean' }, port: { type: 'string' }, host: { type: 'string' },
    fsync: { type: 'string' }, token: { type: 'string' }, 'allow-origin': { type: 'string', multiple: true }, 'allow-host': { type: 'string', multiple: true },
  },
  usage: `usage: brook serve [--data DIR | --memory] [--port ${DEFAULT_PORT}] [--host ${DEFAULT_HOST}]
                   [--fsync always|never|<ms>] [--token T] [--allow-origin O]... [--allow-host H]...

  --data DIR     where topics live (default: ./${DEFAULT_DATA_DIR})
  --memory       keep everything in memory; nothing is written to disk
  --port N       WebSocket + HTTP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --host H       interface to listen on (default ${DEFAULT_HOST}: this machine only)
  --fsync MODE   'always' (default: acknowledge after fdatasync, group commit),
                 'never' (leave it to the OS), or a number of milliseconds between fsyncs
                 (${FSYNC_INTERVAL_MS.min} to ${FSYNC_INTERVAL_MS.max}, a day)
  --token T      clients must present this token, not empty (default: $BROOK_TOKEN, else none)
  --allow-origin O
                 admit web pages of origin O (http://localhost:5173; '*' for any); repeatable.
                 Default none: a request with an Origin header (a browser's) gets 403
  --allow-host H
                 on a loopback host, answer Host H too (a hosts-file name, no port; '*' for
                 any); repeatable. Default: IP addresses, localhost and *.localhost only
Runs until SIGINT/SIGTERM, then shuts down cleanly; a second signal exits at once.`,
};

export interface ServeOptions {
  broker: BrokerOptions;
  listen: Pick<ListenOptions, 'token' | 'allowedOrigins' | 'allowedHosts'> & { port: number; host: string };
}

export function parseServeOptions(args: readonly string[], env: Env = {}): ServeOptions {
  return serveOptions(parseCommandArgs(SERVE_SPEC, args), env);
}

export function serveOptions(args: ParsedArgs, env: Env): ServeOptions {
  const data = args.string('data');
  // Empty ("$UNSET"), the broker would fail to read '' (IO_ERROR, exit 1): bad usage instead.
  if (data === '') throw args.usageError('--data must not be empty');
  if (data !== undefined && args.flag('memory')) throw args.usageError('--data and --memory exclude each other');
  const broker: BrokerOptions = args.flag('memory') ? { storage: 'memory' } : { dataDir: data ?? DEFAULT_DATA_DIR };
  const fsync = args.string('fsync');
  if (fsync !== undefined) broker.fsync = parseFsync(args, fsync);
  // An empty --token (`--token "$UNSET"`) would serve with no token at all; an empty BROOK_TOKEN is unset.
  if (args.string('token') === '') throw args.usageError('--token must not be empty (leave it out to serve without a token)');
  const token = args.string('token') ?? env['BROOK_TOKEN'];
  if (args.string('host') === '') throw args.usageError('--host must not be empty');
  const allowedOrigins = checkedList(args, 'allow-origin', resolveAllowedOrigins, "an origin such as http://localhost:5173, or '*'");
  const allowedHosts = checkedList(args, 'allow-host', resolveAllowedHosts, "a host name such as brook.test (no port), or '*'");
  return {
    broker,
    listen: {
      port: args.integer('port', { min: 0, max: 65_535 }) ?? DEFAULT_PORT, host: args.string('host') ?? DEFAULT_HOST, ...(token ? { token } : {}),
      ...(allowedOrigins.length > 0 ? { allowedOrigins } : {}), ...(allowedHosts.length > 0 ? { allowedHosts } : {}),
    },
  };
}

/** Each value of a repeatable flag, checked by the broker's own rule but said in the CLI's words. */
function checkedList(args: ParsedArgs, flag: string, resolve: (value: unknown) => readonly string[], expected: string): readonly string[] {
  for (const value of args.strings(flag)) {
    try {
      resolve([value]);
    } catch {
      throw args.usageError(`--${flag} must be ${expected}, got ${value}`);
    }
  }
  return resolve(args.strings(flag));
}

/**
 * What a serve with these options leaves open to others, one warning line each: a broker on an
 * address others can reach with no token serves anyone there; one admitting every origin with no
 * token serves every web page in this machine's browsers. Allowed (a trusted network, a demo),
 * so said, not refused.
 */
export function exposureWarnings(listen: ServeOptions['listen'], port: number): string[] {
  if (listen.token !== undefined) return [];
  const warnings: string[] = [];
  if (!isLoopbackHost(listen.host)) {
    warnings.push(`brook: warning: listening on ${listen.host} with no token: anyone who can reach port ${port} can produce, consume and delete topics (set --token or BROOK_TOKEN)`);
  }
  if (listen.allowedOrigins?.includes('*')) {
    warnings.push("brook: warning: --allow-origin '*' with no token: any web page open in a browser that can reach the broker can produce, consume and delete topics");
  }
  return warnings;
}

function parseFsync(args: ParsedArgs, text: string): BrokerOptions['fsync'] {
  if (text === 'always' || text === 'never') return text;
  const { min, max } = FSYNC_INTERVAL_MS;
  // Checked here against the broker's own limit, so an out-of-range value is said in the CLI's words with the usage.
  if (/^\d+$/.test(text) && Number(text) >= min && Number(text) <= max) return { intervalMs: Number(text) };
  throw args.usageError(`--fsync must be always, never or a number of milliseconds from ${min} to ${max}, got ${text}`);
}
