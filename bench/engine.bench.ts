/**
 * Delivery engine benchmark: `npx -y pnpm@10 bench:engine`.
 *
 * In one process: produce 100 B records in batches of 100 while a group of two members consumes
 * and acks everything, for each ordering mode, on memory and on file storage (fsync never).
 * Reports records/s end to end and p50/p99 of produce -> handler latency (each value carries
 * the performance.now() of its produce), and once more for 'none' with the content-type header
 * the client gives string and JSON values on every record, next to a floor: copying 100 B into a preallocated
 * Buffer, the least any broker must do per record. Then the same group consuming records that
 * are already in the log (produced before it joins): the engine's share alone (and one tail
 * reader, a subscription without a group, reading the same); the same group rejecting every
 * record of a backlog (dead-letter copies), and a redrive of them back; and the same
 * produce calls with no group: the producer's share. Each mode is warmed up first, unmeasured,
 * until its rate settles (warmUp). Set BENCH_QUICK=1 for a smaller run.
 *
 * It runs with the Node flags it was started with and prints those that size V8's young
 * generation: `npx -y pnpm@10 bench:engine` has Node's defaults; `node --max-semi-space-size=64
 * --min-semi-space-size=64 --import tsx bench/engine.bench.ts` was the experiment in
 * docs/benchmarks.md, "A larger young generation".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, type Ordering } from '@brook/broker';
import { warmUntilSettled } from './warm-up.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const RECORDS = QUICK ? 100_000 : 1_000_000;
const BATCH = 100;
const VALUE_BYTES = 100;
const KEYS = Array.from({ length: 64 }, (_, i) => `k${i}`);

function floorRecordsPerSec(): number {
  const target = Buffer.allocUnsafe(VALUE_BYTES * 1024);
  const source = Buffer.alloc(VALUE_BYTES, 1);
  const count = 20_000_000;
  const started = performance.now();
  for (let i = 0; i < count; i++) source.copy(target, (i % 1024) * VALUE_BYTES);
  return count / ((performance.now() - started) / 1000);
}

/**
 * One batch stamped with `nowMs`. Its records share one value array (produce copies it into the
 * log), so the harness does not spend on allocation what it is trying to measure in the broker.
 */
function batchAt(sent: number, nowMs: number, headers: RecordHeaders | undefined) {
  const value = new Uint8Array(VALUE_BYTES);
  new DataView(value.buffer).setFloat64(0, nowMs);
  // A plain loop: Array.from over { length } looks up each index on the array-like, a slow
  // path that cost the harness 1-2 % of the run.
  const batch: { key: string; value: Uint8Array; headers?: RecordHeaders }[] = [];
  for (let i = 0; i < BATCH; i++) batch.push(headers ? { key: KEYS[(sent + i) % KEYS.length]!, value, headers } : { key: KEYS[(sent + i) % KEYS.length]!, value });
  return batch;
}

type RecordHeaders = { key: string; value: Uint8Array }[];
/**
 * The header @brook/client gives every string and JSON value (values.ts): a row with it on every
 * record shows what a typical client's records cost, next to the header-less rows.
 */
const CONTENT_TYPE_HEADERS: RecordHeaders = [{ key: 'content-type', value: new TextEncoder().encode('application/json') }];

/**
 * The handler times one record in this many (62 500 samples a 1M-record run). Timing every record
 * cost the harness 7 % of the end-to-end rate (performance.now() and reading the stamp: 664k vs
 * 709k records/s for the same 'none' run without them), which the table would have charged to
 * the broker.
 */
const LATENCY_SAMPLE_EVERY = 16;

/** Reads the produce time out of a value without allocating a view per record. */
const stamp = new DataView(new ArrayBuffer(8));
function producedAtMs(value: Uint8Array): number {
  for (let i = 0; i < 8; i++) stamp.setUint8(i, value[i]!);
  return stamp.getFloat64(0);
}

/**
 * Produce calls kept in flight (BENCH_PRODUCE_IN_FLIGHT, default 1: each awaited before the
 * next). More in flight is what a pipelining producer does (the client's producer keeps 8
 * batches in flight): a partition log appends the calls that queued meanwhile in one write.
 */
const PRODUCE_IN_FLIGHT = Number(process.env['BENCH_PRODUCE_IN_FLIGHT'] ?? 1);

async function produceAll(broker: Broker, paced: boolean, records: number, headers?: RecordHeaders): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  for (let sent = 0; sent < records; sent += BATCH) {
    const produced = broker.produce('bench', batchAt(sent, performance.now(), headers));
    inFlight.add(produced);
    void produced.finally(() => inFlight.delete(produced));
    if (inFlight.size >= PRODUCE_IN_FLIGHT) await Promise.race(inFlight);
    // Let consumers keep up instead of letting the whole run pile up in the log first.
    if (paced && sent % (BATCH * 50) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(inFlight);
}

/** A broker with the benchmark's topic, fsync never; `dispose` closes it and removes its directory. */
async function openBench(storage: 'memory' | 'disk') {
  const dataDir = storage === 'disk' ? mkdtempSync(join(tmpdir(), 'brook-engine-')) : undefined;
  const broker = await Broker.open(storage === 'disk' ? { dataDir, fsync: 'never' } : { storage: 'memory', fsync: 'never' });
  await broker.createTopic('bench', { partitions: 4 });
  const dispose = async () => {
    await broker.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  return { broker, dispose };
}

/** CPU time (user + system, GC threads included) per record since `before`: steadier than records/s on a busy machine. */
function cpuNsPerRecord(before: NodeJS.CpuUsage, records: number): number {
  const cpu = process.cpuUsage(before);
  return ((cpu.user + cpu.system) * 1000) / records;
}

/** The producer half alone: the same produce calls with no group reading. */
async function produceOnly(storage: 'memory' | 'disk', records = RECORDS) {
  const { broker, dispose } = await openBench(storage);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await produceAll(broker, false, records);
  const seconds = (performance.now() - started) / 1000;
  const cpuNs = cpuNsPerRecord(cpuBefore, records);
  await dispose();
  return { recordsPerSec: records / seconds, cpuNsPerRecord: cpuNs };
}

/**
 * Records/s and latencies; `backlog` produces everything before the group joins. 'tail' is one
 * subscription without a group (a tail reader: no acks kept) instead of a group of two.
 */
async function run(storage: 'memory' | 'disk', ordering: Ordering | 'tail', backlog = false, records = RECORDS, headers?: RecordHeaders) {
  const { broker, dispose } = await openBench(storage);
  const latenciesMs = new Float64Array(Math.ceil(records / LATENCY_SAMPLE_EVERY));
  let received = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const handler = (delivery: { value: Uint8Array | null }) => {
    if (received % LATENCY_SAMPLE_EVERY === 0) latenciesMs[received / LATENCY_SAMPLE_EVERY] = performance.now() - producedAtMs(delivery.value!);
    if (++received === records) done();
  };
  if (backlog) await produceAll(broker, false, records, headers);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  if (ordering === 'tail') await broker.subscribe({ topic: 'bench', maxInFlight: 1000, from: 'earliest' }, handler);
  for (let m = 0; ordering !== 'tail' && m < 2; m++) {
    await broker.subscribe({ topic: 'bench', group: 'g', ordering, maxInFlight: 1000, from: 'earliest' }, handler);
  }
  if (!backlog) await produceAll(broker, true, records, headers);
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const cpuNs = cpuNsPerRecord(cpuBefore, records);
  await dispose();
  latenciesMs.sort();
  const at = (q: number) => latenciesMs[Math.floor(latenciesMs.length * q)]!;
  return { recordsPerSec: records / seconds, cpuNsPerRecord: cpuNs, p50: at(0.5), p99: at(0.99) };
}

/**
 * A group of two that gives up on every record of a backlog (reject()): each record is copied to
 * the dead-letter topic (fsynced before its ack, whatever the policy) and acked.
 */
async function deadLetterRun(storage: 'memory' | 'disk', records = RECORDS / 5) {
  const { broker, dispose } = await openBench(storage);
  await produceAll(broker, false, records);
  let copied = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  broker.on('deadLettered', () => {
    if (++copied === records) done();
  });
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const members = [];
  for (let m = 0; m < 2; m++) {
    members.push(await broker.subscribe({ topic: 'bench', group: 'g', maxInFlight: 1000, from: 'earliest' }, (delivery) => delivery.reject('bench')));
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const cpuNs = cpuNsPerRecord(cpuBefore, records);
  // Then the way back: redrive moves every copy to the partition it came from.
  for (const member of members) await member.close();
  const redriveStarted = performance.now();
  const { moved } = await broker.redrive('bench.dlq');
  const redriveSeconds = (performance.now() - redriveStarted) / 1000;
  await dispose();
  if (moved !== records) throw new Error(`redrive moved ${moved} of ${records}`);
  return { recordsPerSec: records / seconds, cpuNsPerRecord: cpuNs, redrivenPerSec: moved / redriveSeconds };
}

/** Records in each unmeasured warm-up round (memory storage), per ordering. */
const WARMUP_ROUND_RECORDS = QUICK ? 50_000 : 200_000;

/** Warms each ordering up (bench/warm-up.ts has the rule and why); returns what it took, per ordering. */
async function warmUp(): Promise<string[]> {
  const report: string[] = [];
  for (const ordering of ['none', 'key', 'partition'] as const) {
    const rounds = await warmUntilSettled(async () => (await run('memory', ordering, false, WARMUP_ROUND_RECORDS)).recordsPerSec);
    report.push(`${ordering} ${rounds} x ${WARMUP_ROUND_RECORDS / 1000}k`);
  }
  return report;
}

const fmtRate = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);
const floor = floorRecordsPerSec();
console.log(`floor: copy ${VALUE_BYTES} B into a preallocated Buffer: ${fmtRate(floor)} records/s`);
const youngGeneration = process.execArgv.filter((flag) => flag.includes('semi-space-size'));
console.log(`produce calls in flight: ${PRODUCE_IN_FLIGHT} (BENCH_PRODUCE_IN_FLIGHT)`);
console.log(`young generation: ${youngGeneration.length > 0 ? youngGeneration.join(' ') : "Node's defaults"}\n`);
console.log(`warm-up rounds (unmeasured, memory): ${(await warmUp()).join(', ')}\n`);
console.log('| storage | ordering | records/s | vs floor | p50 ms | p99 ms |\n| --- | --- | ---: | ---: | ---: | ---: |');
for (const storage of ['memory', 'disk'] as const) {
  for (const ordering of ['none', 'key', 'partition'] as const) {
    const r = await run(storage, ordering);
    console.log(`| ${storage} | ${ordering} | ${fmtRate(r.recordsPerSec)} | ${(r.recordsPerSec / floor).toFixed(3)}x | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
  }
}
const headed = await run('memory', 'none', false, RECORDS, CONTENT_TYPE_HEADERS);
console.log(`| memory | none, a content-type header on each record | ${fmtRate(headed.recordsPerSec)} | ${(headed.recordsPerSec / floor).toFixed(3)}x | ${headed.p50.toFixed(1)} | ${headed.p99.toFixed(1)} |`);
console.log('\nconsume only (records already in the log, memory; tail: one subscription without a group):\n\n| ordering | records/s | CPU ns/record |\n| --- | ---: | ---: |');
const consumeOnly = new Map<string, number>();
for (const ordering of ['none', 'key', 'partition', 'tail'] as const) {
  const r = await run('memory', ordering, true);
  consumeOnly.set(ordering, r.recordsPerSec);
  console.log(`| ${ordering} | ${fmtRate(r.recordsPerSec)} | ${r.cpuNsPerRecord.toFixed(0)} |`);
}
const acking = consumeOnly.get('none')!;
console.log(`\ndead-letter copies (a group of 2 rejecting a backlog of ${RECORDS / 5 / 1000}k, then a redrive of them all; vs: the consume-only 'none' rate above, which acks):\n\n| storage | records/s | CPU ns/record | vs acking | redrive records/s |\n| --- | ---: | ---: | ---: | ---: |`);
for (const storage of ['memory', 'disk'] as const) {
  const r = await deadLetterRun(storage);
  console.log(`| ${storage} | ${fmtRate(r.recordsPerSec)} | ${r.cpuNsPerRecord.toFixed(0)} | ${(r.recordsPerSec / acking).toFixed(2)}x | ${fmtRate(r.redrivenPerSec)} |`);
}
console.log('\nproduce only (the same produce calls, no group):\n\n| storage | records/s | CPU ns/record |\n| --- | ---: | ---: |');
for (const storage of ['memory', 'disk'] as const) {
  const r = await produceOnly(storage);
  console.log(`| ${storage} | ${fmtRate(r.recordsPerSec)} | ${r.cpuNsPerRecord.toFixed(0)} |`);
}
