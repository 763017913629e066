/**
 * Delivery engine benchmark: `npx -y pnpm@10 bench:engine`.
 *
 * In one process: produce 100 B records in batches of 100 while a group of two members consumes
 * and acks everything, for each ordering mode, on memory and on file storage (fsync never).
 * Reports records/s end to end and p50/p99 of produce -> handler latency (each value carries
 * the performance.now() of its produce), next to a floor: copying 100 B into a preallocated
 * Buffer, the least any broker must do per record. Set BENCH_QUICK=1 for a smaller run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, type Ordering } from '@brook/broker';

const QUICK = process.env['BENCH_QUICK'] === '1';
const RECORDS = QUICK ? 100_000 : 1_000_000;
const BATCH = 100;
const VALUE_BYTES = 100;

function floorRecordsPerSec(): number {
  const target = Buffer.allocUnsafe(VALUE_BYTES * 1024);
  const source = Buffer.alloc(VALUE_BYTES, 1);
  const count = 20_000_000;
  const started = performance.now();
  for (let i = 0; i < count; i++) source.copy(target, (i % 1024) * VALUE_BYTES);
  return count / ((performance.now() - started) / 1000);
}

async function run(storage: 'memory' | 'disk', ordering: Ordering) {
  const dataDir = storage === 'disk' ? mkdtempSync(join(tmpdir(), 'brook-engine-')) : undefined;
  const broker = await Broker.open(storage === 'disk' ? { dataDir, fsync: 'never' } : { storage: 'memory', fsync: 'never' });
  await broker.createTopic('bench', { partitions: 4 });
  const latenciesMs = new Float64Array(RECORDS);
  let received = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const handler = (delivery: { value: Uint8Array | null }) => {
    const view = new DataView(delivery.value!.buffer, delivery.value!.byteOffset, 8);
    latenciesMs[received++] = performance.now() - view.getFloat64(0);
    if (received === RECORDS) done();
  };
  for (let m = 0; m < 2; m++) await broker.subscribe({ topic: 'bench', group: 'g', ordering, maxInFlight: 1000 }, handler);
  const started = performance.now();
  for (let sent = 0; sent < RECORDS; sent += BATCH) {
    const now = performance.now();
    const records = Array.from({ length: BATCH }, (_, i) => {
      const value = new Uint8Array(VALUE_BYTES);
      new DataView(value.buffer).setFloat64(0, now);
      return { key: `k${(sent + i) % 64}`, value };
    });
    await broker.produce('bench', records);
    // Let consumers keep up instead of letting the whole run pile up in the log first.
    if (sent % (BATCH * 50) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await broker.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  latenciesMs.sort();
  return { recordsPerSec: RECORDS / seconds, p50: latenciesMs[Math.floor(RECORDS * 0.5)]!, p99: latenciesMs[Math.floor(RECORDS * 0.99)]! };
}

const fmtRate = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);
const floor = floorRecordsPerSec();
console.log(`floor: copy ${VALUE_BYTES} B into a preallocated Buffer: ${fmtRate(floor)} records/s\n`);
console.log('| storage | ordering | records/s | vs floor | p50 ms | p99 ms |\n| --- | --- | ---: | ---: | ---: | ---: |');
for (const storage of ['memory', 'disk'] as const) {
  for (const ordering of ['none', 'key', 'partition'] as const) {
    const r = await run(storage, ordering);
    console.log(`| ${storage} | ${ordering} | ${fmtRate(r.recordsPerSec)} | ${(r.recordsPerSec / floor).toFixed(3)}x | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
  }
}
