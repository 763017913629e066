/**
 * Parsing of `brook serve` options. Kept apart from main.ts so it can be tested without starting
 * anything. Unknown flags and bad values are errors with code INVALID_CONFIG, never ignored.
 */
import { BrookError } from '@brook/protocol';
import type { BrokerOptions } from '@brook/broker';

export const DEFAULT_DATA_DIR = '.brook-data';

export const SERVE_USAGE = `usage: brook serve [--data DIR | --memory] [--fsync always|never|<ms>]

  --data DIR     where topics live (default: ./${DEFAULT_DATA_DIR})
  --memory       keep everything in memory; nothing is written to disk
  --fsync MODE   'always' (default: acknowledge after fdatasync, group commit),
                 'never' (leave it to the OS), or a number of milliseconds between fsyncs`;

export function parseServeOptions(args: readonly string[]): BrokerOptions {
  const options: BrokerOptions = { dataDir: DEFAULT_DATA_DIR };
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
    else throw usageError(`unknown option ${flag}`);
  }
  return options;
}

function parseFsync(text: string): BrokerOptions['fsync'] {
  if (text === 'always' || text === 'never') return text;
  if (/^\d+$/.test(text) && Number(text) >= 1) return { intervalMs: Number(text) };
  throw usageError(`--fsync must be always, never or a positive number of milliseconds, got ${text}`);
}

function usageError(message: string): BrookError {
  return new BrookError('INVALID_CONFIG', `${message}\n${SERVE_USAGE}`, {});
}
