/**
 * The `brook` command: dispatches to one file per command. Errors go to stderr with their code.
 * Exit codes: 0 success, 1 failure (or, for dump / verify, a problem found), 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { BrookError, isBrookError } from '@brook/protocol';
import { DUMP_USAGE, dump } from './dump.js';
import { serve } from './serve.js';
import { SERVE_USAGE } from './serve-options.js';
import { VERIFY_USAGE, verify } from './verify.js';

const USAGE = `usage: brook COMMAND [options]      (brook COMMAND --help for its options)

commands:
  serve     run a broker
  dump      print the batches and index entries of a partition directory or segment file
  verify    check every segment, index and metadata file of a data directory

${SERVE_USAGE}

${DUMP_USAGE}

${VERIFY_USAGE}`;

function fail(error: unknown): never {
  if (isBrookError(error)) {
    process.stderr.write(`brook: ${error.message}\n`);
    process.exit(error.code === 'INVALID_CONFIG' ? 2 : 1);
  }
  process.stderr.write(`brook: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
}

/** One positional PATH plus flags; anything else is a usage error naming the command's usage. */
function parsePathCommand(args: readonly string[], usage: string, flags: readonly string[]) {
  try {
    const parsed = parseArgs({
      args: [...args], allowPositionals: true, strict: true,
      options: Object.fromEntries(flags.map((flag) => [flag, { type: 'boolean' as const }])),
    });
    if (parsed.positionals.length !== 1) throw new Error('needs exactly one path');
    return { path: parsed.positionals[0]!, flags: parsed.values as Record<string, boolean | undefined> };
  } catch (error) {
    throw new BrookError('INVALID_CONFIG', `${(error as Error).message}\n${usage}`, {});
  }
}

async function run(command: string | undefined, args: readonly string[]): Promise<number | undefined> {
  if (args.includes('--help')) {
    const usage = { serve: SERVE_USAGE, dump: DUMP_USAGE, verify: VERIFY_USAGE }[command ?? ''] ?? USAGE;
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  switch (command) {
    case 'serve':
      await serve(args, fail);
      return undefined; // keeps running until a signal
    case 'dump': {
      const { path, flags } = parsePathCommand(args, DUMP_USAGE, ['records', 'json']);
      return dump(path, { records: flags['records'] === true, json: flags['json'] === true });
    }
    case 'verify': {
      const { path, flags } = parsePathCommand(args, VERIFY_USAGE, ['json']);
      return verify(path, { json: flags['json'] === true });
    }
    case undefined:
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`brook: unknown command ${command}\n${USAGE}\n`);
      return 2;
  }
}

const [command, ...args] = process.argv.slice(2);
run(command, args).then((code) => {
  if (code !== undefined) process.exit(code);
}, fail);
