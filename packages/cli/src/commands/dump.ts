/**
 * `brook dump PATH`: the storage format made visible. PATH is a partition directory (every
 * segment in offset order) or one `.log`, `.index` or `.timeindex` file. Prints each batch
 * (byte position, offsets, size, timestamps, producer id / epoch / sequence, CRC), each index
 * entry, and the first bad batch with its position; `--records` adds every record.
 */
import { basename } from 'node:path';
import { inspectIndex, inspectLog, type InspectedBatch, type InspectedIndex, type InspectedLog } from '@brook/broker';
import { NodeFileSystem, type FileSystem } from '@brook/protocol';
import { defineCommand } from '../cli-args.js';
import { isoTime, preview, toJson } from '../format.js';

const DUMP_USAGE = `usage: brook dump PATH [--records] [--json]

  PATH        a partition directory (e.g. .brook-data/topics/orders/0) or one segment file
              (.log, .index, .timeindex)
  --records   print every record of every batch (key, value, headers)
  --json      machine-readable output
exit codes: 0 every batch good, 1 a bad batch or index was found, 2 bad usage`;

type Dumped = InspectedLog | InspectedIndex;

export const dumpCommand = defineCommand(
  {
    name: 'dump', summary: 'print the batches and index entries of a partition directory or segment file', usage: DUMP_USAGE,
    required: ['PATH'], options: { records: { type: 'boolean' }, json: { type: 'boolean' } },
  },
  async (args) => dump(args.required('PATH'), { records: args.flag('records'), json: args.flag('json') }),
);

async function dump(path: string, options: { records: boolean; json: boolean }): Promise<number> {
  const fs = new NodeFileSystem();
  const files = await filesToDump(fs, path);
  const dumped: Dumped[] = [];
  for (const file of files) dumped.push(file.endsWith('.log') ? await inspectLog(fs, file, { records: options.records }) : await inspectIndex(fs, file));
  process.stdout.write(options.json ? `${toJson(dumped)}\n` : dumped.map(formatDumped).join('\n'));
  return dumped.some((item) => item.problem) ? 1 : 0;
}

async function filesToDump(fs: FileSystem, path: string): Promise<string[]> {
  if (/\.(log|index|timeindex)$/.test(path)) return [path];
  const names = (await fs.readdir(path)).filter((name) => /^\d{20}\.(log|index|timeindex)$/.test(name));
  // Segment by segment: a lexical sort of the 20-digit stems is offset order; .log first.
  const order = { log: 0, index: 1, timeindex: 2 } as Record<string, number>;
  names.sort((a, b) => a.slice(0, 20).localeCompare(b.slice(0, 20)) || order[a.slice(21)]! - order[b.slice(21)]!);
  return names.map((name) => `${path}/${name}`);
}

function formatDumped(item: Dumped): string {
  const lines = 'batches' in item ? formatLog(item) : formatIndex(item);
  if (item.problem) lines.push(`  BAD @${item.problem.position} ${item.problem.reason}: ${item.problem.detail}`);
  return `${lines.join('\n')}\n`;
}

function formatLog(log: InspectedLog): string[] {
  const records = log.batches.reduce((sum, batch) => sum + batch.recordCount, 0);
  const lines = [`${basename(log.file)}  ${log.sizeBytes} B, ${log.batches.length} batches, ${records} records`];
  for (const batch of log.batches) {
    lines.push(formatBatch(batch));
    for (const record of batch.records ?? []) {
      const headers = record.headers.map((header) => `${header.key}=${preview(header.value)}`).join(' ');
      lines.push(`      offset ${record.offset}  ${isoTime(record.timestamp)}  key=${preview(record.key)}  value=${preview(record.value)}${headers ? `  headers: ${headers}` : ''}`);
    }
  }
  return lines;
}

function formatBatch(batch: InspectedBatch): string {
  const producer = batch.producerId < 0n ? 'no producer id' : `producer ${batch.producerId} epoch ${batch.producerEpoch} seq ${batch.baseSequence}`;
  const times = batch.baseTimestampMs === batch.maxTimestampMs ? isoTime(batch.baseTimestampMs) : `${isoTime(batch.baseTimestampMs)} .. ${isoTime(batch.maxTimestampMs)}`;
  return `  @${batch.position}  offsets ${batch.baseOffset}..${batch.lastOffset} (${batch.recordCount} records)  ${batch.sizeBytes} B  ${times}  ${producer}  crc ok`;
}

function formatIndex(index: InspectedIndex): string[] {
  const base = BigInt(basename(index.file).slice(0, 20));
  const lines = [`${basename(index.file)}  ${index.entries.length} entries`];
  for (const { key, value } of index.entries) {
    lines.push(index.kind === 'offset' ? `  offset ${base + BigInt(key)} -> @${value}` : `  records before offset ${base + BigInt(value)}: none later than ${isoTime(key)}`);
  }
  return lines;
}
