/**
 * Text formatting shared by the CLI commands: timestamps, record bytes, JSON with bigints, tables.
 */
import { hex, printableText, preview } from '@brook/broker';

export { isoTime, preview } from '@brook/broker';

// ignoreBOM: a value that starts with a byte-order mark is shown with it, not silently without.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A value in full on one line: printable single-line text as it is, other text quoted, binary as hex. */
export function fullText(bytes: Uint8Array | null): string {
  if (bytes === null) return 'null';
  const printable = printableText(bytes);
  if (printable === undefined) return hex(bytes);
  return printable.includes('\n') ? JSON.stringify(printable) : printable;
}

/** Bytes for JSON output: text when they are UTF-8, else `{ base64 }`. */
export function bytesJson(bytes: Uint8Array | null): string | { base64: string } | null {
  if (bytes === null) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return { base64: Buffer.from(bytes).toString('base64') };
  }
}

function jsonReplacer(_key: string, item: unknown): unknown {
  if (typeof item === 'bigint') return item.toString();
  if (item instanceof Uint8Array) return preview(item);
  return item;
}

/** JSON for `--json` output: bigints become decimal strings, byte arrays become previews. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, jsonReplacer, 2);
}

/** One compact JSON line, for outputs that stream one object per record. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value, jsonReplacer)}\n`;
}

/** Rows as left-aligned columns, the first row being the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** `1 record`, `2 records`; `plural(n, 'batch', 'batches')` where adding an s is not the plural. */
export function plural(count: number | bigint, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 || count === 1n ? noun : nouns}`;
}
