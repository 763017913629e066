/**
 * Text formatting shared by the CLI commands: timestamps, record bytes, JSON with bigints.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });
const PREVIEW_CHARS_MAX = 60;

export function isoTime(timestampMs: number): string {
  const date = new Date(timestampMs);
  return Number.isNaN(date.getTime()) ? `${timestampMs}ms` : date.toISOString();
}

/** Bytes as quoted text when they are printable UTF-8, else hex; long values are cut with their size. */
export function preview(bytes: Uint8Array | null): string {
  if (bytes === null) return 'null';
  let text: string;
  try {
    text = utf8.decode(bytes);
    // Control characters other than tab/newline would garble a terminal: show hex instead.
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) throw new Error('not printable');
    text = JSON.stringify(text);
  } catch {
    text = `0x${Buffer.from(bytes).toString('hex')}`;
  }
  return text.length > PREVIEW_CHARS_MAX ? `${text.slice(0, PREVIEW_CHARS_MAX)}… (${bytes.length} B)` : text;
}

/** JSON for `--json` output: bigints become decimal strings, byte arrays become previews. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return item.toString();
    if (item instanceof Uint8Array) return preview(item);
    return item;
  }, 2);
}
