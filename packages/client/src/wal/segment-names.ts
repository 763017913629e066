/**
 * Names of the files a FileBuffer owns in its directory. A segment is named by its sequence
 * number, 20 zero-padded digits so a lexical sort is the sequence order:
 *
 *   wal-00000000000000000000.seg     CRC-framed WAL frames (frame-codec.ts)
 *   wal.lock/owner                   the single-writer lock (DirLock in @brook/protocol)
 *
 * Anything else in the directory is someone else's and is never read, renamed or deleted.
 */
const SEGMENT_PATTERN = /^wal-(\d{20})\.seg$/;

export function segmentName(segmentSeq: number): string {
  return `wal-${String(segmentSeq).padStart(20, '0')}.seg`;
}

export function segmentPath(dir: string, segmentSeq: number): string {
  return `${dir}/${segmentName(segmentSeq)}`;
}

/** The sequence a segment file name carries, or undefined for any other name. */
export function parseSegmentName(name: string): number | undefined {
  const match = SEGMENT_PATTERN.exec(name);
  return match ? Number(match[1]) : undefined;
}
