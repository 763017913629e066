/**
 * The text of `brook dump`: the batches of a segment (byte position, offsets, size, timestamps,
 * producer id / epoch / sequence, CRC), its records, its index entries, the first bad batch.
 * Beside inspect.ts, so the CLI's `brook dump` and the partitioned-log demo print the same thing.
 */
import { basename } from 'node:path';
import type { FileSystem } from '@brook/protocol';
import type { InspectedBatch, InspectedIndex, InspectedLog } from './inspect.js';

export type Inspected = InspectedLog | InspectedIndex;

// ignoreBOM: a value that starts with a byte-order mark is shown with it, not silently without.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const PREVIEW_CHARS_MAX = 60;

export function isoTime(timestampMs: number): string {
  const date = new Date(timestampMs);
  return Number.isNaN(date.getTime()) ? `${timestampMs}ms` : date.toISOString();
}

/** The bytes as text if they are UTF-8 without control characters other than tab/newline, which would garble a terminal. */
export function printableText(bytes: Uint8Array): string | undefined {
  try {
    const text = utf8.decode(bytes);
    return /[\u0000-\u0008\u000b-\u001f\u007f]/.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

export function hex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

/** Bytes as quoted text when they are printable UTF-8, else hex; long values are cut with their size. */
export function preview(bytes: Uint8Array | null): string {
  if (bytes === null) return 'null';
  const printable = printableText(bytes);
  const text = printable === undefined ? hex(bytes) : JSON.stringify(printable);
  return text.length > PREVIEW_CHARS_MAX ? `${text.slice(0, PREVIEW_CHARS_MAX)}… (${bytes.length} B)` : text;
}

/** The files to dump for PATH: the file itself, or a partition directory's segment files in offset order, `.log` first. */
export async function dumpFiles(fs: FileSystem, path: string): Promise<string[]> {
  if (/\.(log|index|timeindex)$/.test(path)) return [path];
  const names = (await fs.readdir(path)).filter((name) => /^\d{20}\.(log|index|timeindex)$/.test(name));
  // A lexical sort of the 20-digit stems is offset order.
  const order = { log: 0, index: 1, timeindex: 2 } as Record<string, number>;
  names.sort((a, b) => a.slice(0, 20).localeCompare(b.slice(0, 20)) || order[a.slice(21)]! - order[b.slice(21)]!);
  return names.map((name) => `${path}/${name}`);
}

/** One inspected file as text, ending with a newline. */
export function formatInspected(item: Inspected): string {
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
