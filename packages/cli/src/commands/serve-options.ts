/**
 * Parsing of `brook serve` options. Kept apart from main.ts so it can be tested without starting
 * anything. Unknown flags and bad values are errors with code INVALID_CONFIG, never ignored.
 */
import { BrookError } from '@brook/protocol';
import type { BrokerOptions } from '@brook/broker';

export const DEFAULT_DATA_DIR = '.brook-data';

export const DEFAULT_PORT = 7070;
export const DEFAULT_HOST = '127.0.0.1';

export const SERVE_USAGE = `usage: brook serve [--data DIR | --memory] [--port ${DEFAULT_PORT}] [--host ${DEFAULT_HOST}]
                   [--fsync always|never|<ms>] [--token T]

  --data DIR     where topics live (default: ./${DEFAULT_DATA_DIR})
  --memory       keep everything in memory; nothing is written to disk
  --port N       WebSocket + HTTP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --host H       interface to listen on (default ${DEFAULT_HOST}: this machine only)
  --fsync MODE   'always' (default: acknowledge after fdatasync, group commit),
                 'never' (leave it to the OS), or a number of milliseconds between fsyncs
  --token T      clients must present this token (default: $BROOK_TOKEN, else none)`;

export interface ServeOptions {
  broker: BrokerOptions;
  listen: { port: number; host: string; token?: string };
}

export function parseServeOptions(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ServeOptions {
  const options: BrokerOptions = { dataDir: DEFAULT_DATA_DIR };
  const token = env['BROOK_TOKEN'];
  const listen: ServeOptions['listen'] = { port: DEFAULT_PORT, host: DEFAULT_HOST, ...(token ? { token } : {}) };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = (): string => {
      const next = args[++i];
      if (next === undefined || next.startsWith('--')) throw usageError(`${flag} needs a value`);
      return next;
    };
    if (flag === '--data') options.dataDir = value();
    else if (flag === '--memory') {
      options.storage = 'memory';
      delete options.dataDir;
    } else if (flag === '--fsync') options.fsync = parseFsync(value());
    else if (flag === '--port') listen.port = parsePort(value());
    else if (flag === '--host') listen.host = value();
    else if (flag === '--token') listen.token = value();
    else throw usageError(`unknown option ${flag}`);
  }
  return { broker: options, listen };
}

function parsePort(text: string): number {
  const port = Number(text);
  if (/^\d+$/.test(text) && port <= 65_535) return port;
  throw usageError(`--port must be a number from 0 to 65535, got ${text}`);
}

function parseFsync(text: string): BrokerOptions['fsync'] {
  if (text === 'always' || text === 'never') return text;
  if (/^\d+$/.test(text) && Number(text) >= 1) return { intervalMs: Number(text) };
  throw usageError(`--fsync must be always, never or a positive number of milliseconds, got ${text}`);
}

function usageError(message: string): BrookError {
  return new BrookError('INVALID_CONFIG', `${message}\n${SERVE_USAGE}`, {});
}
