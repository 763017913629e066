/**
 * FileBuffer benchmark: `npx -y pnpm@10 bench:wal` (docs/benchmarks.md, section WAL).
 *
 * put() throughput and latency for 100 B records under fsync 'never', { intervalMs: 10 } and
 * 'always' (group commit), each with 1 put in flight (the latency a caller that awaits every
 * put sees) and 64 in flight (throughput, and what group commit buys), while a drain loop
 * commits every sealed batch to a no-op sink. In the same run, on the same disk, the raw
 * baselines: synchronous writeSync appends of one WAL record frame (179 B) each, the same with
 * an fdatasync after each, and async FileHandle.write appends (what the WAL's port does).
 * Set BENCH_QUICK=1 for a smaller run.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBuffer, type FsyncPolicy } from '../packages/client/src/wal/index.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const scale = (n: number): number => (QUICK ? Math.ceil(n / 10) : n);
const RECORD_BYTES = 100;
/** A 100 B value as a WAL RECORD frame: 9 B frame header + 61 B batch header + 9 B of record framing. */
const FRAME_BYTES = 179;
const root = mkdtempSync(join(tmpdir(), 'brook-wal-bench-'));
let counter = 0;
const fresh = (): string => join(root, `run-${counter++}`);

interface Row { what: string; perSec: number; p50Ms?: number; p99Ms?: number }
const rows: Row[] = [];

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function rawSync(records: number, sync: boolean): Row {
  const path = fresh();
  const fd = openSync(path, 'w');
  const frame = Buffer.alloc(FRAME_BYTES, 7);
  const started = performance.now();
  for (let i = 0; i < records; i++) {
    writeSync(fd, frame);
    if (sync) fdatasyncSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  closeSync(fd);
  rmSync(path);
  return { what: `baseline: writeSync ${FRAME_BYTES} B${sync ? ' + fdatasync each' : ''}`, perSec: records / seconds };
}

async function rawAsync(records: number): Promise<Row> {
  const path = fresh();
  const handle = await open(path, 'w');
  const frame = Buffer.alloc(FRAME_BYTES, 7);
  const started = performance.now();
  for (let i = 0; i < records; i++) await handle.write(frame, 0, FRAME_BYTES, i * FRAME_BYTES);
  const seconds = (performance.now() - started) / 1000;
  await handle.close();
  rmSync(path);
  return { what: `baseline: await FileHandle.write ${FRAME_BYTES} B`, perSec: records / seconds };
}

async function putRun(label: string, fsync: FsyncPolicy, records: number, inFlight: number): Promise<Row> {
  const buffer = await FileBuffer.open({ dir: fresh(), fsync, maxRecords: 1000, maxAgeMs: 20 });
  const stop = new AbortController();
  const sender = buffer.drain(() => undefined, { signal: stop.signal });
  const value = new Uint8Array(RECORD_BYTES).fill(97);
  const latencies = new Float64Array(records);
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    for (let i = next++; i < records; i = next++) {
      const t0 = performance.now();
      await buffer.put({ value });
      latencies[i] = performance.now() - t0;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  stop.abort();
  await buffer.close();
  await sender;
  latencies.sort();
  return { what: `put ${RECORD_BYTES} B, fsync ${label}, ${inFlight} in flight`, perSec: records / seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
}

const fmtRate = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));
const fmtMs = (n: number | undefined): string => (n === undefined ? '' : n < 0.1 ? n.toFixed(3) : n.toFixed(2));

try {
  console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), data in ${root}${QUICK ? ', quick' : ''}\n`);
  rows.push(rawSync(scale(200_000), false), await rawAsync(scale(100_000)), rawSync(scale(2_000), true));
  rows.push(await putRun('never', 'never', scale(200_000), 1), await putRun('never', 'never', scale(200_000), 64));
  rows.push(await putRun('{ intervalMs: 10 }', { intervalMs: 10 }, scale(200_000), 1), await putRun('{ intervalMs: 10 }', { intervalMs: 10 }, scale(200_000), 64));
  rows.push(await putRun('always', 'always', scale(2_000), 1), await putRun('always', 'always', scale(50_000), 64));
  console.log('| what | records/s | MiB/s of values | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    console.log(`| ${row.what} | ${fmtRate(row.perSec)} | ${((row.perSec * RECORD_BYTES) / 2 ** 20).toFixed(1)} | ${fmtMs(row.p50Ms)} | ${fmtMs(row.p99Ms)} |`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
