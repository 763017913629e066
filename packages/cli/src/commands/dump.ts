/**
 * `brook dump PATH`: the storage format made visible. PATH is a partition directory (every
 * segment in offset order) or one `.log`, `.index` or `.timeindex` file. Prints each batch
 * (byte position, offsets, size, timestamps, producer id / epoch / sequence, CRC), each index
 * entry, and the first bad batch with its position; `--records` adds every record.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { dumpFiles, formatInspected, inspectIndex, inspectLog, type Inspected } from '@brook/broker';
import { NodeFileSystem } from '@brook/protocol';
import { defineCommand, type ParsedArgs } from '../cli-args.js';
import { toJson } from '../format.js';

const DUMP_USAGE = `usage: brook dump PATH [--records] [--json]

  PATH        a partition directory (e.g. .brook-data/topics/orders/0) or one segment file
              (.log, .index, .timeindex)
  --records   print every record of every batch (key, value, headers)
  --json      machine-readable output
exit codes: 0 every batch good, 1 a bad batch or index was found, 2 bad usage`;

export const dumpCommand = defineCommand(
  {
    name: 'dump', summary: 'print the batches and index entries of a partition directory or segment file', usage: DUMP_USAGE,
    required: ['PATH'], options: { records: { type: 'boolean' }, json: { type: 'boolean' } },
  },
  async (args) => dump(args, { records: args.flag('records'), json: args.flag('json') }),
);

const SEGMENT_FILE = /\.(log|index|timeindex)$/;
const INDEX_FILE_NAME = /^\d{20}\.(index|timeindex)$/;

async function dump(args: ParsedArgs, options: { records: boolean; json: boolean }): Promise<number> {
  const fs = new NodeFileSystem();
  const files = await segmentFiles(fs, args);
  const dumped: Inspected[] = [];
  for (const file of files) dumped.push(file.endsWith('.log') ? await inspectLog(fs, file, { records: options.records }) : await inspectIndex(fs, file));
  process.stdout.write(options.json ? `${toJson(dumped)}\n` : dumped.map(formatInspected).join('\n'));
  return dumped.some((item) => item.problem) ? 1 : 0;
}

/**
 * The files of PATH, or a usage error saying what dump reads: the broker's dumpFiles takes any
 * path not named like a segment file for a directory, so a wrong one would fail with readdir's
 * ENOTDIR, or print nothing at all.
 */
async function segmentFiles(fs: NodeFileSystem, args: ParsedArgs): Promise<string[]> {
  const path = args.required('PATH');
  const expected = 'dump reads a partition directory (e.g. .brook-data/topics/orders/0) or one .log, .index or .timeindex file';
  // A path that cannot be read at all is left to dumpFiles, whose IO_ERROR names the errno.
  const stats = await stat(path).catch(() => undefined);
  if (stats !== undefined && !stats.isDirectory() && !SEGMENT_FILE.test(path)) throw args.usageError(`${expected}; ${path} is neither`);
  // An index holds offsets relative to its segment's base offset, which only its name gives.
  if (/\.(index|timeindex)$/.test(path) && !INDEX_FILE_NAME.test(basename(path))) {
    throw args.usageError(`${path}: an index file must keep its segment's name (20 digits, the base offset: 00000000000000000000.index), its entries are relative to it`);
  }
  const files = await dumpFiles(fs, path);
  if (files.length === 0) throw args.usageError(`${expected}; ${path} holds no segment files`);
  return files;
}
