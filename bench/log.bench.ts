/**
 * Log benchmark: `npx -y pnpm@10 bench:log` (about a minute on 2 idle cores; docs/benchmarks.md).
 *
 * Prints, in one run on the same disk: the raw `fs.writeSync` append bandwidth (the baseline),
 * Brook's produce throughput for 100 B and 1 KiB records in batches of 1, 100 and 1000 under
 * fsync 'never' and 'always', sequential fetch throughput against a raw `readSync` of the same
 * bytes, and the broker's reopen time after an unclean stop as the log grows to 1 GiB. Every
 * Brook figure is also given as a ratio to its baseline. Set BENCH_QUICK=1 for a smaller run.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, type FsyncPolicy } from '@brook/broker';
import { NodeFileSystem } from '@brook/protocol';

const QUICK = process.env['BENCH_QUICK'] === '1';
const MiB = 1024 * 1024;
const root = mkdtempSync(join(tmpdir(), 'brook-bench-'));
let dirCounter = 0;
const freshDir = () => join(root, `run-${dirCounter++}`);

interface Row { what: string; recordsPerSec?: number; mibPerSec: number; ratio?: string }
const rows: Row[] = [];

function rawAppend(chunkBytes: number, totalBytes: number, sync: boolean): number {
  const path = join(root, `raw-${dirCounter++}`);
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(chunkBytes, 7);
  const started = performance.now();
  for (let written = 0; written < totalBytes; written += chunkBytes) {
    writeSync(fd, chunk);
    if (sync) fdatasyncSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  closeSync(fd);
  rmSync(path);
  return totalBytes / MiB / seconds;
}

async function produceRun(fsync: FsyncPolicy, valueBytes: number, batchRecords: number, totalRecords: number, inFlight: number) {
  const broker = await Broker.open({ dataDir: freshDir(), fsync, batchRecordsMax: 1000, batchBytesMax: 4 * MiB });
  await broker.createTopic('bench');
  const value = new Uint8Array(valueBytes).fill(97);
  const batch = Array.from({ length: batchRecords }, () => ({ value, partition: 0 }));
  const batches = Math.ceil(totalRecords / batchRecords);
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next++ < batches) await broker.produce('bench', batch);
  }));
  const seconds = (performance.now() - started) / 1000;
  const sizeBytes = broker.describeTopic('bench').partitions[0]!.sizeBytes;
  await broker.close();
  return { recordsPerSec: (batches * batchRecords) / seconds, mibPerSec: sizeBytes / MiB / seconds };
}

async function fetchRun(valueBytes: number, totalRecords: number) {
  const dataDir = freshDir();
  const broker = await Broker.open({ dataDir, fsync: 'never', batchRecordsMax: 1000, batchBytesMax: 4 * MiB });
  await broker.createTopic('bench');
  const value = new Uint8Array(valueBytes).fill(97);
  const batch = Array.from({ length: 1000 }, () => ({ value, partition: 0 }));
  for (let i = 0; i < totalRecords / 1000; i++) await broker.produce('bench', batch);
  const { sizeBytes, endOffset } = broker.describeTopic('bench').partitions[0]!;
  const started = performance.now();
  let records = 0;
  for (let offset = 0n; offset < endOffset;) {
    const page = await broker.fetch({ topic: 'bench', partition: 0, offset, maxRecords: 10_000 });
    records += page.length;
    offset += BigInt(page.length);
  }
  const seconds = (performance.now() - started) / 1000;
  await broker.close();
  const raw = rawRead(join(dataDir, 'topics', 'bench', '0', '00000000000000000000.log'));
  return { recordsPerSec: records / seconds, mibPerSec: sizeBytes / MiB / seconds, rawMibPerSec: raw };
}

function rawRead(path: string): number {
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(MiB);
  let total = 0;
  const started = performance.now();
  for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) total += read;
  const seconds = (performance.now() - started) / 1000;
  closeSync(fd);
  return total / MiB / seconds;
}

/**
 * The brokers reopenRuns leaves unclosed, as after a kill -9. They stay referenced until the
 * process exits, as a killed process's files stay open until it is gone: dropped, their file
 * handles were closed by the GC, each with a Node warning.
 */
const killedBrokers: Broker[] = [];

/**
 * Resolves once every segment but the last in `partitionDir` is sealed (both index files
 * written). A roll seals the full segment in the background (~65 ms for 64 MiB here); a kill
 * inside that window makes the reopen scan that segment too, which this table does not measure.
 */
async function sealsFinished(partitionDir: string): Promise<void> {
  const sealed = (): boolean => {
    const names = readdirSync(partitionDir);
    const stems = names.filter((n) => n.endsWith('.log')).map((n) => n.slice(0, -4)).sort().slice(0, -1);
    return stems.every((stem) => names.includes(`${stem}.index`) && names.includes(`${stem}.timeindex`));
  };
  const deadlineMs = performance.now() + 10_000;
  while (!sealed()) {
    if (performance.now() > deadlineMs) throw new Error(`segments in ${partitionDir} not sealed within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Grows one log to `sizesMiB` in turn; after each, reopens it as after a crash (no marker). */
async function reopenRuns(sizesMiB: number[]) {
  const dataDir = freshDir();
  const value = new Uint8Array(1000).fill(98);
  const batch = Array.from({ length: 1000 }, () => ({ value, partition: 0 }));
  const results: { sizeMiB: number; segments: number; reopenMs: number }[] = [];
  // An explicit file system: the data directory's single-writer lock (taken only with the default
  // one) would refuse the second broker this process opens on it below, and after a real kill -9
  // its holder is gone anyway.
  const options = { dataDir, fs: new NodeFileSystem(), fsync: 'never', batchRecordsMax: 1000, batchBytesMax: 4 * MiB } as const;
  let broker = await Broker.open(options);
  await broker.createTopic('bench', { segmentBytesMax: 64 * MiB });
  for (const sizeMiB of sizesMiB) {
    while (broker.describeTopic('bench').partitions[0]!.sizeBytes < sizeMiB * MiB) await broker.produce('bench', batch);
    await sealsFinished(join(dataDir, 'topics', 'bench', '0'));
    // Leave the old broker unclosed (no marker) and open a second one, as after a kill -9.
    const started = performance.now();
    const reopened = await Broker.open(options);
    const reopenMs = performance.now() - started;
    if (reopened.openedClean) throw new Error('expected an unclean open');
    results.push({ sizeMiB, segments: reopened.describeTopic('bench').partitions[0]!.segments, reopenMs });
    killedBrokers.push(broker);
    broker = reopened;
  }
  return results;
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const fmtRate = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));

async function main() {
  // Figures move with whatever else the machine runs: say what it was, and run twice.
  console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), data in ${root}${QUICK ? ', quick' : ''}\n`);
  const total = QUICK ? 100_000 : 1_000_000;
  const rawNever = rawAppend(100 * 1024, (QUICK ? 64 : 512) * MiB, false);
  const rawAlways = rawAppend(100 * 1024, (QUICK ? 8 : 64) * MiB, true);
  rows.push({ what: 'baseline: fs.writeSync 100 KiB chunks', mibPerSec: rawNever });
  rows.push({ what: 'baseline: fs.writeSync 100 KiB + fdatasync each', mibPerSec: rawAlways });
  for (const fsync of ['never', 'always'] as const) {
    for (const valueBytes of [100, 1024]) {
      for (const batchRecords of [1, 100, 1000]) {
        const records = Math.min(total, batchRecords === 1 ? (fsync === 'always' ? 20_000 : 100_000) : total) / (valueBytes === 1024 ? 4 : 1);
        const result = await produceRun(fsync, valueBytes, batchRecords, records, 8);
        const baseline = fsync === 'never' ? rawNever : rawAlways;
        rows.push({
          what: `produce ${valueBytes === 100 ? '100 B' : '1 KiB'} x ${batchRecords}/batch, fsync ${fsync}, 8 in flight`,
          recordsPerSec: result.recordsPerSec, mibPerSec: result.mibPerSec, ratio: `${(result.mibPerSec / baseline).toFixed(2)}x`,
        });
      }
    }
  }
  for (const valueBytes of [100, 1024]) {
    const result = await fetchRun(valueBytes, valueBytes === 100 ? total : total / 4);
    rows.push({ what: `baseline: fs.readSync of the same segment (${valueBytes === 100 ? '100 B' : '1 KiB'})`, mibPerSec: result.rawMibPerSec });
    rows.push({
      what: `fetch ${valueBytes === 100 ? '100 B' : '1 KiB'} records sequentially, decoded`,
      recordsPerSec: result.recordsPerSec, mibPerSec: result.mibPerSec, ratio: `${(result.mibPerSec / result.rawMibPerSec).toFixed(2)}x`,
    });
  }
  console.log('| what | records/s | MiB/s | vs baseline |\n| --- | ---: | ---: | ---: |');
  for (const row of rows) {
    console.log(`| ${row.what} | ${row.recordsPerSec === undefined ? '' : fmtRate(row.recordsPerSec)} | ${fmt(row.mibPerSec)} | ${row.ratio ?? ''} |`);
  }
  const reopen = await reopenRuns(QUICK ? [16, 64, 128] : [64, 256, 1024]);
  console.log('\n| log size | segments | reopen after unclean stop (ms) |\n| ---: | ---: | ---: |');
  for (const r of reopen) console.log(`| ${r.sizeMiB} MiB | ${r.segments} | ${r.reopenMs.toFixed(1)} |`);
}

try {
  await main();
} finally {
  rmSync(root, { recursive: true, force: true });
}
