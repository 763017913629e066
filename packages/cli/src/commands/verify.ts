/**
 * `brook verify DATA_DIR`: checks every segment, index and metadata file under a data directory
 * (the rules are listed in packages/broker/src/log/verify.ts) and names the file and byte
 * position of each problem. Read-only: safe on a directory a broker has open, though a batch
 * being appended at that moment can show up as a torn tail.
 */
import { relative } from 'node:path';
import { verifyDataDir } from '@brook/broker';
import { NodeFileSystem } from '@brook/protocol';
import { defineCommand } from '../cli-args.js';
import { plural, toJson } from '../format.js';

const VERIFY_USAGE = `usage: brook verify DATA_DIR [--json]

  DATA_DIR   a broker's data directory (default for brook serve: ./.brook-data)
  --json     machine-readable output
exit codes: 0 no problem, 1 a problem was found (each is printed with file and byte position), 2 bad usage`;

export const verifyCommand = defineCommand(
  { name: 'verify', summary: 'check every segment, index and metadata file of a data directory', usage: VERIFY_USAGE, required: ['DATA_DIR'], options: { json: { type: 'boolean' } } },
  async (args) => verify(args.required('DATA_DIR'), { json: args.flag('json') }),
);

async function verify(dataDir: string, options: { json: boolean }): Promise<number> {
  const result = await verifyDataDir(new NodeFileSystem(), dataDir);
  if (options.json) {
    process.stdout.write(`${toJson(result)}\n`);
  } else {
    for (const log of result.logDirs) {
      const status = log.problems.length === 0 ? 'ok ' : 'BAD';
      process.stdout.write(`${status} ${relative(dataDir, log.dir)}  ${plural(log.segments, 'segment')}, ${plural(log.batches, 'batch', 'batches')}, ${plural(log.records, 'record')}\n`);
    }
    for (const problem of result.problems) {
      process.stdout.write(`problem: ${relative(dataDir, problem.file) || '.'} @${problem.position} ${problem.reason}: ${problem.detail}\n`);
    }
    process.stdout.write(`${plural(result.problems.length, 'problem')} in ${plural(result.logDirs.length, 'log')}\n`);
  }
  return result.problems.length === 0 ? 0 : 1;
}
